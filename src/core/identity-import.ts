// Turns the text of an identity import file (JSON or CSV) into validated rows, reporting every bad row
// with the line it starts on. Pure: text in, values out. The caller imports the rows only when there are
// no errors, in one transaction, so a file is taken whole or not at all.
import { DELIVERY_ROUTES } from './model.js';
import type { IdentityStatus } from './model.js';
import type { IdentityInput } from './ports.js';

export type ImportFormat = 'json' | 'csv';

export interface ImportRowError {
  /** 1-based line on which the offending record starts (the header's line for header problems). */
  readonly line: number;
  readonly message: string;
}

export interface ImportResult {
  /** The rows that passed every check. */
  readonly rows: IdentityInput[];
  readonly errors: ImportRowError[];
}

export const MAX_IMPORT_ROWS = 100_000;
export const MAX_ALIAS_LENGTH = 256;
export const MAX_ATTRIBUTE_VALUE_LENGTH = 1024;
export const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Keys of an identity object that are not attributes, so cannot be used as attribute names either. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['alias', 'status', 'attributes']);

// The attributes delivery reads addresses from, so a bad one is caught at import, not at send time.
const routes = Object.values(DELIVERY_ROUTES);
const EMAIL_ATTRIBUTES: ReadonlySet<string> = new Set(routes.filter((r) => r.channel === 'email').map((r) => r.attribute));
const PHONE_ATTRIBUTES: ReadonlySet<string> = new Set(routes.filter((r) => r.channel !== 'email').map((r) => r.attribute));

/**
 * C0 and C1 controls and DEL, the Unicode line and paragraph separators (they split log lines like a
 * newline does), and, because of the u flag, only unpaired surrogates, which no UTF-8 column can store.
 */
const FORBIDDEN_CHARACTER = /[\p{Cc}\u2028\u2029\uD800-\uDFFF]/u;
/** What people type inside phone numbers for readability: spaces, dashes, dots and parentheses. */
const PHONE_SEPARATORS = /[\s().-]/g;
/** E.164: a plus, a country code (never starting with 0), 8 to 15 digits in all. */
const E164 = /^\+[1-9][0-9]{7,14}$/;

/** By extension first; otherwise a file whose first visible character opens a JSON value is JSON. */
export function detectFormat(fileName: string, text: string): ImportFormat {
  const extension = /\.([^./\\]+)$/.exec(fileName.trim().toLowerCase())?.[1];
  if (extension === 'json') return 'json';
  if (extension === 'csv') return 'csv';
  // `{` too: a lone object is not a valid import, but the JSON reader says so far more clearly than a
  // CSV header check would.
  const first = /[^\s\uFEFF]/.exec(text)?.[0];
  return first === '[' || first === '{' ? 'json' : 'csv';
}

/**
 * Every identity in the file, checked. A file that cannot be read at all (malformed JSON, a bad CSV
 * header) gives no rows and the errors that stop it; otherwise each bad record gives one or more errors
 * on its own line and the good ones come back as rows.
 */
export function parseIdentityImport(text: string, format: ImportFormat): ImportResult {
  try {
    return collect(format === 'json' ? jsonEntries(text) : csvEntries(text));
  } catch (error) {
    if (error instanceof UnreadableFile) return { rows: [], errors: error.errors };
    throw error;
  }
}

/** One identity given as a JSON object (the admin API's body): the input, or everything wrong with it. */
export function validateIdentityInput(value: unknown, line: number): IdentityInput | ImportRowError[] {
  const checked = checkIdentity(value);
  return checked.input ?? checked.problems.map((message) => ({ line, message }));
}

// ---------------------------------------------------------------------------------------------------
// Checking one identity

interface Checked {
  /** The alias when it is itself valid, even if the rest is not: duplicates are found among these. */
  readonly alias: string | undefined;
  /** Present exactly when there are no problems. */
  readonly input: IdentityInput | undefined;
  readonly problems: string[];
}

function checkIdentity(value: unknown): Checked {
  if (!isObject(value)) {
    return { alias: undefined, input: undefined, problems: [`Expected an object with an "alias", found ${describe(value)}.`] };
  }
  const problems: string[] = [];
  const alias = checkAlias(own(value, 'alias'), problems);
  const status = checkStatus(own(value, 'status'), problems);

  const attributes: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!RESERVED_KEYS.has(name)) addAttribute(attributes, name, raw, problems);
  }
  const nested = own(value, 'attributes');
  if (nested !== undefined) {
    if (!isObject(nested)) {
      problems.push(`"attributes" must be an object of attribute names to string values, found ${describe(nested)}.`);
    } else {
      for (const [name, raw] of Object.entries(nested)) {
        if (RESERVED_KEYS.has(name)) {
          problems.push(`${quote(name)} cannot be an attribute name; give it at the top level of the identity.`);
        } else if (Object.hasOwn(value, name)) {
          problems.push(`Attribute ${quote(name)} is given both at the top level and inside "attributes"; give it once.`);
        } else {
          addAttribute(attributes, name, raw, problems);
        }
      }
    }
  }

  const input = alias !== undefined && status !== undefined && problems.length === 0 ? { alias, status, attributes } : undefined;
  return { alias, input, problems };
}

function checkAlias(raw: unknown, problems: string[]): string | undefined {
  if (raw === undefined || (typeof raw === 'string' && raw.trim() === '')) {
    problems.push('The "alias" is missing or empty.');
    return undefined;
  }
  if (typeof raw !== 'string') {
    problems.push(`"alias" must be a string, found ${describe(raw)}${typeof raw === 'number' ? '; numbers are not converted, so quote it' : ''}.`);
    return undefined;
  }
  const alias = raw.trim();
  if (longerThan(alias, MAX_ALIAS_LENGTH)) {
    problems.push(`The "alias" is longer than ${MAX_ALIAS_LENGTH} characters.`);
    return undefined;
  }
  if (FORBIDDEN_CHARACTER.test(alias)) {
    problems.push('The "alias" contains a control character.');
    return undefined;
  }
  return alias;
}

function checkStatus(raw: unknown, problems: string[]): IdentityStatus | undefined {
  if (raw === undefined) return 'active';
  if (typeof raw !== 'string') {
    problems.push(`"status" must be "active" or "disabled", found ${describe(raw)}.`);
    return undefined;
  }
  const status = raw.trim();
  if (status === '' || status === 'active') return 'active';
  if (status === 'disabled') return 'disabled';
  problems.push(`"status" must be "active" or "disabled", found ${quote(status)}.`);
  return undefined;
}

/** Adds a valid attribute to `attributes`; an empty value means the attribute is absent. */
function addAttribute(attributes: Record<string, string>, name: string, raw: unknown, problems: string[]): void {
  if (!ATTRIBUTE_NAME.test(name)) {
    problems.push(`${quote(name)} is not a valid attribute name: a letter, then up to 63 letters, digits, "_", "." or "-".`);
    return;
  }
  if (typeof raw !== 'string') {
    // Converting would be wrong for the values that matter most: a phone number written as a JSON
    // number has already lost its "+" and any leading zero.
    const advice = raw === null ? 'leave the attribute out to give it no value' : 'values are not converted, so quote it';
    problems.push(`Attribute ${quote(name)} must be a string, found ${describe(raw)}; ${advice}.`);
    return;
  }
  const value = raw.trim();
  if (value === '') return;
  if (longerThan(value, MAX_ATTRIBUTE_VALUE_LENGTH)) {
    problems.push(`Attribute ${quote(name)} is longer than ${MAX_ATTRIBUTE_VALUE_LENGTH} characters.`);
    return;
  }
  if (FORBIDDEN_CHARACTER.test(value)) {
    problems.push(`Attribute ${quote(name)} contains a control character.`);
    return;
  }
  if (EMAIL_ATTRIBUTES.has(name) && !looksLikeEmail(value)) {
    problems.push(`Attribute ${quote(name)} is not an email address: one "@" between a non-empty local part and domain, and no spaces.`);
    return;
  }
  if (PHONE_ATTRIBUTES.has(name)) {
    const phone = value.replace(PHONE_SEPARATORS, '');
    if (!E164.test(phone)) {
      problems.push(`Attribute ${quote(name)} is not an E.164 phone number: "+", the country code, then the number, 8 to 15 digits in all (such as +14155550123).`);
      return;
    }
    attributes[name] = phone;
    return;
  }
  attributes[name] = value;
}

function looksLikeEmail(value: string): boolean {
  const parts = value.split('@');
  return parts.length === 2 && parts[0] !== '' && parts[1] !== '' && !/\s/.test(value);
}

// ---------------------------------------------------------------------------------------------------
// Collecting records from either format

interface Entry {
  readonly line: number;
  /** Problems found while reading the record, before its content is checked. */
  readonly problems: readonly string[];
  /** False when the record is too broken to check its content (a CSV row with the wrong field count). */
  readonly usable: boolean;
  readonly value: unknown;
}

/** A file that cannot be read at all: nothing in it is imported. */
class UnreadableFile extends Error {
  constructor(readonly errors: ImportRowError[]) {
    super(errors[0]?.message ?? 'unreadable import file');
  }
}

function collect(entries: Iterable<Entry>): ImportResult {
  const rows: IdentityInput[] = [];
  const errors: ImportRowError[] = [];
  const firstLineOfAlias = new Map<string, number>();
  let count = 0;
  for (const entry of entries) {
    count += 1;
    if (count > MAX_IMPORT_ROWS) {
      errors.push({ line: entry.line, message: `Too many rows: one import holds at most ${MAX_IMPORT_ROWS} identities; split the file.` });
      break; // stops the reader too: nothing past the limit is even parsed
    }
    const problems = [...entry.problems];
    let input: IdentityInput | undefined;
    if (entry.usable) {
      const checked = checkIdentity(entry.value);
      if (checked.alias !== undefined) {
        const earlier = firstLineOfAlias.get(checked.alias);
        if (earlier === undefined) firstLineOfAlias.set(checked.alias, entry.line);
        else problems.push(`The alias ${quote(checked.alias)} already appears on line ${earlier}.`);
      }
      problems.push(...checked.problems);
      input = checked.input;
    }
    if (problems.length > 0) for (const message of problems) errors.push({ line: entry.line, message });
    else if (input) rows.push(input);
  }
  return { rows, errors };
}

// ---------------------------------------------------------------------------------------------------
// JSON: an array of identity objects. JSON.parse cannot say where an element starts or where a syntax
// error is (Node 20's messages carry no position), and silently keeps the last of two equal keys, so
// this is a small strict RFC 8259 reader that does all three.

function* jsonEntries(text: string): Generator<Entry> {
  const lines = new LineIndex(text);
  const reader = new JsonReader(text, text.charCodeAt(0) === BOM ? 1 : 0);
  try {
    reader.skipWhitespace();
    if (reader.atEnd()) throw new UnreadableFile([{ line: 1, message: 'The file is empty; expected a JSON array of identity objects.' }]);
    if (reader.peek() !== OPEN_BRACKET) {
      const message = 'Expected a JSON array [ ... ] of identity objects at the top level.';
      throw new UnreadableFile([{ line: lines.lineOf(reader.pos), message }]);
    }
    reader.pos += 1;
    reader.skipWhitespace();
    if (reader.peek() === CLOSE_BRACKET) {
      reader.pos += 1;
    } else {
      for (;;) {
        reader.skipWhitespace();
        const start = reader.pos;
        const duplicateKeys: string[] = [];
        reader.onDuplicateKey = (key) => duplicateKeys.push(key);
        const value = reader.value();
        const problems = duplicateKeys.map((key) => `Key ${quote(key)} appears more than once in one object.`);
        yield { line: lines.lineOf(start), problems, usable: true, value };
        reader.skipWhitespace();
        const next = reader.peek();
        if (next === COMMA) reader.pos += 1;
        else if (next === CLOSE_BRACKET) break;
        else reader.fail(reader.atEnd() ? 'Unexpected end of input: the array is not closed.' : 'Expected "," or "]" after an array element.');
      }
      reader.pos += 1;
    }
    reader.skipWhitespace();
    if (!reader.atEnd()) reader.fail('Unexpected content after the closing "]".');
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    const line = lines.lineOf(error.offset);
    const column = lines.columnOf(error.offset);
    throw new UnreadableFile([{ line, message: `Malformed JSON at column ${column}: ${error.message}` }]);
  }
}

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const BOM = 0xfeff;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const LF = 0x0a;
const CR = 0x0d;

/** Deep enough for any identity; bounded so a file of `[[[[...` cannot exhaust the stack. */
const MAX_JSON_DEPTH = 64;
const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class JsonReader {
  pos: number;
  /** Told about each key that repeats within one object. */
  onDuplicateKey: (key: string) => void = () => undefined;
  private depth = 0;

  constructor(
    private readonly text: string,
    start: number,
  ) {
    this.pos = start;
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** The code unit at the cursor, NaN at the end. */
  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  fail(message: string, offset = this.pos): never {
    throw new JsonSyntaxError(message, offset);
  }

  skipWhitespace(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== LF && c !== CR) return;
      this.pos += 1;
    }
  }

  value(): unknown {
    this.skipWhitespace();
    const c = this.peek();
    if (c === OPEN_BRACE) return this.object();
    if (c === OPEN_BRACKET) return this.array();
    if (c === QUOTE) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    for (const [word, literal] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return literal;
      }
    }
    if (this.atEnd()) this.fail('Unexpected end of input.');
    const found = String.fromCodePoint(this.text.codePointAt(this.pos) ?? 0);
    const hint = c === CLOSE_BRACKET || c === CLOSE_BRACE ? ' (a trailing comma?)' : found === "'" ? ' (strings take double quotes)' : '';
    return this.fail(`Unexpected character ${JSON.stringify(found)}${hint}.`);
  }

  private enter(): void {
    this.depth += 1;
    if (this.depth > MAX_JSON_DEPTH) this.fail(`Values are nested deeper than ${MAX_JSON_DEPTH} levels.`);
    this.pos += 1;
  }

  private object(): Record<string, unknown> {
    this.enter();
    // No prototype, so a key named "__proto__" is an ordinary key and cannot replace one.
    const result = Object.create(null) as Record<string, unknown>;
    this.skipWhitespace();
    if (this.peek() !== CLOSE_BRACE) {
      for (;;) {
        this.skipWhitespace();
        if (this.peek() !== QUOTE) {
          this.fail(this.peek() === CLOSE_BRACE ? 'Expected a property name, found "}" (a trailing comma?).' : 'Expected a property name in double quotes.');
        }
        const key = this.string();
        this.skipWhitespace();
        if (this.peek() !== COLON) this.fail('Expected ":" after a property name.');
        this.pos += 1;
        const item = this.value();
        if (Object.hasOwn(result, key)) this.onDuplicateKey(key);
        result[key] = item;
        this.skipWhitespace();
        const next = this.peek();
        if (next === COMMA) this.pos += 1;
        else if (next === CLOSE_BRACE) break;
        else this.fail(this.atEnd() ? 'Unexpected end of input: an object is not closed.' : 'Expected "," or "}" after a property value.');
      }
    }
    this.pos += 1;
    this.depth -= 1;
    return result;
  }

  private array(): unknown[] {
    this.enter();
    const result: unknown[] = [];
    this.skipWhitespace();
    if (this.peek() !== CLOSE_BRACKET) {
      for (;;) {
        result.push(this.value());
        this.skipWhitespace();
        const next = this.peek();
        if (next === COMMA) this.pos += 1;
        else if (next === CLOSE_BRACKET) break;
        else this.fail(this.atEnd() ? 'Unexpected end of input: an array is not closed.' : 'Expected "," or "]" after an array element.');
      }
    }
    this.pos += 1;
    this.depth -= 1;
    return result;
  }

  private string(): string {
    const { text } = this;
    const open = this.pos;
    let pos = open + 1;
    let chunkStart = pos;
    let out = '';
    for (;;) {
      if (pos >= text.length) this.fail('A string is not closed.', open);
      const c = text.charCodeAt(pos);
      if (c === QUOTE) {
        this.pos = pos + 1;
        return out + text.slice(chunkStart, pos);
      }
      if (c === BACKSLASH) {
        out += text.slice(chunkStart, pos);
        const escape = text[pos + 1] ?? '';
        const simple = SIMPLE_ESCAPES[escape];
        if (simple !== undefined) {
          out += simple;
          pos += 2;
        } else if (escape === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(pos + 2, pos + 6))) {
          out += String.fromCharCode(Number.parseInt(text.slice(pos + 2, pos + 6), 16));
          pos += 6;
        } else {
          this.fail('Invalid escape sequence in a string.', pos);
        }
        chunkStart = pos;
        continue;
      }
      if (c < 0x20) this.fail('A control character or line break inside a string; escape it, or close the string.', pos);
      pos += 1;
    }
  }

  private number(): number {
    JSON_NUMBER.lastIndex = this.pos;
    const match = JSON_NUMBER.exec(this.text);
    if (!match) return this.fail('Invalid number.');
    this.pos += match[0].length;
    return Number(match[0]);
  }
}

/** Offsets to 1-based lines and columns; a line ends at LF, CRLF or a lone CR. */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i += 1) {
      const c = text.charCodeAt(i);
      if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) this.starts.push(i + 1);
    }
  }

  lineOf(offset: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  }

  columnOf(offset: number): number {
    return offset - (this.starts[this.lineOf(offset) - 1] ?? 0) + 1;
  }
}

// ---------------------------------------------------------------------------------------------------
// CSV (RFC 4180): a header row naming the columns, one of them "alias", then one identity per record.

function* csvEntries(text: string): Generator<Entry> {
  let header: readonly string[] | undefined;
  for (const record of csvRecords(text)) {
    // Blank lines, and rows of nothing but commas as spreadsheets leave behind, hold no identity.
    if (record.problem === undefined && record.fields.every((field) => field === '')) continue;
    if (header === undefined) {
      header = checkHeader(record);
      continue;
    }
    if (record.problem !== undefined) {
      yield { line: record.line, problems: [record.problem], usable: false, value: undefined };
      continue;
    }
    if (record.fields.length !== header.length) {
      const problem = `This row has ${record.fields.length} fields but the header has ${header.length} (a value holding a comma must be in double quotes).`;
      yield { line: record.line, problems: [problem], usable: false, value: undefined };
      continue;
    }
    const value = Object.create(null) as Record<string, string>;
    header.forEach((name, k) => {
      const cell = record.fields[k] ?? '';
      if (cell.trim() !== '') value[name] = cell; // an empty cell means the attribute is absent
    });
    yield { line: record.line, problems: [], usable: true, value };
  }
  if (header === undefined) {
    throw new UnreadableFile([{ line: 1, message: 'The file is empty; the first row must be a header naming the columns, one of them "alias".' }]);
  }
}

/** The column names, or an unreadable file: rows cannot be understood under a bad header. */
function checkHeader(record: CsvRecord): readonly string[] {
  if (record.problem !== undefined) throw new UnreadableFile([{ line: record.line, message: `In the header: ${record.problem}` }]);
  const names = record.fields.map((field) => field.trim());
  const problems: string[] = [];
  const seen = new Set<string>();
  names.forEach((name, k) => {
    if (name === '') problems.push(`Column ${k + 1} of the header has no name.`);
    else if (seen.has(name)) problems.push(`Column ${quote(name)} appears more than once in the header.`);
    else if (name === 'attributes') problems.push('"attributes" cannot be a column name; give each attribute its own column.');
    else if (name !== 'alias' && name !== 'status' && !ATTRIBUTE_NAME.test(name)) {
      problems.push(`Column ${quote(name)} is not a valid attribute name: a letter, then up to 63 letters, digits, "_", "." or "-".`);
    }
    seen.add(name);
  });
  if (!seen.has('alias')) {
    const nearMiss = names.find((name) => name.toLowerCase() === 'alias');
    problems.push(`The header has no "alias" column${nearMiss === undefined ? '' : ` (column names are case-sensitive; found ${quote(nearMiss)})`}.`);
  }
  if (problems.length > 0) throw new UnreadableFile(problems.map((message) => ({ line: record.line, message })));
  return names;
}

interface CsvRecord {
  /** The physical line the record starts on; quoted line breaks make records span lines. */
  readonly line: number;
  readonly fields: string[];
  /** The first quoting problem in the record, if any. */
  readonly problem: string | undefined;
}

function* csvRecords(text: string): Generator<CsvRecord> {
  const end = text.length;
  let i = text.charCodeAt(0) === BOM ? 1 : 0;
  let line = 1;
  while (i < end) {
    const recordLine = line;
    const fields: string[] = [];
    let problem: string | undefined;
    for (;;) {
      let value = '';
      let quoted = false;
      if (text.charCodeAt(i) === QUOTE) {
        quoted = true;
        const openLine = line;
        i += 1;
        let chunkStart = i;
        let closed = false;
        while (i < end) {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            value += text.slice(chunkStart, i);
            if (text.charCodeAt(i + 1) === QUOTE) {
              value += '"';
              i += 2;
              chunkStart = i;
              continue;
            }
            i += 1;
            closed = true;
            break;
          }
          if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) line += 1;
          i += 1;
        }
        if (!closed) {
          value += text.slice(chunkStart, i);
          problem ??= `A quoted field opened on line ${openLine} is never closed.`;
        }
      }
      // Up to the next delimiter: the whole of an unquoted field, or what wrongly follows a closing quote.
      const tailStart = i;
      let tailHasQuote = false;
      while (i < end) {
        const c = text.charCodeAt(i);
        if (c === COMMA || c === LF || c === CR) break;
        if (c === QUOTE) tailHasQuote = true;
        i += 1;
      }
      if (i > tailStart) {
        value += text.slice(tailStart, i);
        if (quoted) problem ??= 'Text follows the closing quote of a field; inside a quoted field write a quote as "".';
        else if (tailHasQuote) problem ??= 'A double quote inside an unquoted field; put the whole field in double quotes and double the quote ("").';
      }
      fields.push(value);
      if (i >= end) break;
      const delimiter = text.charCodeAt(i);
      if (delimiter === COMMA) {
        i += 1;
        continue;
      }
      i += delimiter === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line += 1;
      break;
    }
    yield { line: recordLine, fields, problem };
  }
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: `toString` or `constructor` on the prototype are not the identity's keys. */
function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'number':
      return 'a number';
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    case 'string':
      return 'a string';
    default:
      return typeof value;
  }
}

/** A name or value fit to quote in a message: escaped, and cut short if long. */
function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/** Length in characters (code points), counting no further than needed. */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let count = 0;
  for (const _ of text) {
    count += 1;
    if (count > max) return true;
  }
  return false;
}
