// The bound of `serve --workers`, apart from cluster.ts so the usage text can name it without loading the server.
export const MAX_WORKERS = 64;
