// The closed set of failures the service reports, each with its HTTP status. Mapped to the wire in
// exactly one place (src/http/errors.ts). Expected outcomes such as a wrong token are results, not these.

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE';

const STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
};

export class ServiceError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly string[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export const badRequest = (message: string, details: readonly string[] = []) => new ServiceError('BAD_REQUEST', message, details);
export const forbidden = (message = 'The server understood the request but refuses to authorize it.') => new ServiceError('FORBIDDEN', message);
export const notFound = (message: string) => new ServiceError('NOT_FOUND', message);
export const rateLimited = (retryAfterSeconds: number) => new ServiceError('RATE_LIMITED', 'Rate Limit Exceeded', [], retryAfterSeconds);
