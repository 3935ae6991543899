// The one mapping from failures to HTTP: the spec's ErrorResponseDto (and its 401 and 429 bodies).
// Unexpected errors answer a generic 500 with a tracking id; their detail goes to the log only.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ServiceError } from '../core/errors.js';
import { isBackendUnavailable } from './backend-faults.js';

export interface ErrorMessage {
  readonly locale: string;
  readonly localeOrigin: 'DEFAULT';
  readonly text: string;
}

export interface ErrorResponseDto {
  readonly detailCode: string;
  readonly trackingId: string;
  readonly messages: ErrorMessage[];
  readonly causes: ErrorMessage[];
}

const DETAIL_CODES: Readonly<Record<number, string>> = {
  400: '400.1 Bad Request Content',
  403: '403 Forbidden',
  404: '404 Not found',
  405: '405 Method Not Allowed',
  406: '406 Not Acceptable',
  408: '408 Request Timeout',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  414: '414 URI Too Long',
  415: '415 Unsupported Media Type',
  431: '431 Request Header Fields Too Large',
  500: '500.0 Internal Fault',
  503: '503 Service Unavailable',
};

export const newTrackingId = (): string => randomBytes(16).toString('hex');

const message = (text: string): ErrorMessage => ({ locale: 'en-US', localeOrigin: 'DEFAULT', text });

export function errorBody(status: number, text: string, causes: readonly string[] = [], trackingId = newTrackingId()): ErrorResponseDto {
  return {
    detailCode: DETAIL_CODES[status] ?? `${status} Error`,
    trackingId,
    messages: [message(text)],
    causes: causes.map(message),
  };
}

export const RATE_LIMIT_BODY = { message: ' Rate Limit Exceeded ' } as const;

export function sendUnauthorized(reply: FastifyReply, reason: string): FastifyReply {
  return reply.code(401).header('www-authenticate', 'Bearer').send({ error: `JWT validation failed: ${reason}` });
}

function validationCauses(error: FastifyError): string[] {
  return (error.validation ?? []).slice(0, 10).map((v) => {
    const where = `${error.validationContext ?? 'body'}${v.instancePath ? v.instancePath.replace(/\//g, '.') : ''}`;
    const params = v.params as Record<string, unknown>;
    if (v.keyword === 'required') return `${where}: missing required field "${String(params['missingProperty'])}"`;
    if (v.keyword === 'enum') return `${where}: must be one of ${(params['allowedValues'] as unknown[]).join(', ')}`;
    return `${where}: ${v.message ?? 'is not valid'}`;
  });
}

export function handleError(error: FastifyError | ServiceError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof ServiceError) {
    if (error.code === 'RATE_LIMITED') {
      return reply.code(429).header('retry-after', String(error.retryAfterSeconds ?? 1)).send(RATE_LIMIT_BODY);
    }
    if (error.code === 'UNAUTHORIZED') return sendUnauthorized(reply, error.message);
    return reply.code(error.status).send(errorBody(error.status, error.message, error.details));
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return reply.code(400).send(errorBody(400, 'The request is not valid.', validationCauses(fastifyError)));
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's own client errors (malformed JSON, wrong content type, body too large): the message
    // describes the request, not the server.
    const code = status === 413 || status === 415 ? status : 400;
    return reply.code(code).send(errorBody(code, fastifyError.message));
  }
  const trackingId = newTrackingId();
  if (isBackendUnavailable(error)) {
    // PostgreSQL or Redis away (or SQLite's lock wait ran out): the caller may retry; not our bug.
    request.log.warn({ err: error, trackingId }, 'backing service unavailable');
    return reply.code(503).send(errorBody(503, 'The service is unavailable; try again shortly.', [], trackingId));
  }
  request.log.error({ err: error, trackingId }, 'unexpected error');
  if (status === 503) return reply.code(503).send(errorBody(503, 'The service is unavailable; try again shortly.', [], trackingId));
  return reply.code(500).send(errorBody(500, 'An internal fault occurred.', [], trackingId));
}

/**
 * Refusals by Fastify's router (a path that is not valid percent-encoding, a path parameter longer than
 * maxParamLength) skip the error handler; without this they answer Fastify's own body, not the spec's.
 * The path is not echoed: it may be long and it is the attacker's text.
 */
export function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // Sent before any hook runs, so the app's onSend hook does not add this here.
  reply.header('x-content-type-options', 'nosniff');
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return reply.code(414).send(errorBody(414, 'A path segment is too long.'));
  if (error.code === 'FST_ERR_BAD_URL') return reply.code(400).send(errorBody(400, 'The request path is not valid percent-encoding.'));
  return handleError(error, request, reply);
}

/**
 * Requests Node's HTTP parser refuses before any route sees them (malformed framing, headers over the
 * size limit, a request slower than the timeouts): the spec's ErrorResponseDto written to the socket,
 * where Fastify's default would write its own {error, message, statusCode}.
 */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const text = status === 408 ? 'The request did not arrive in time.' : status === 431 ? 'The request headers are too large.' : 'The request is not valid HTTP.';
  const body = JSON.stringify(errorBody(status, text));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
