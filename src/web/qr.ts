// A QR code drawn on the server as inline SVG, so a page shows one without script and without asking
// anything outside the service. Medium error correction: what authenticator apps read from a screen.
import qrcode from 'qrcode-generator';
import { escapeHtml, Html } from './page.js';

/** The QR code of `text` as an <svg> element, announced to screen readers as `label`. */
export function qrSvg(text: string, label: string): Html {
  const code = qrcode(0, 'M');
  code.addData(text, 'Byte');
  code.make();
  const svg = code.createSvgTag({ cellSize: 4, margin: 4, scalable: true });
  return new Html(svg.replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml(label)}" shape-rendering="crispEdges" `));
}
