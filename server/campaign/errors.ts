// Kept apart from redis.ts so that cli/main.ts can name it without loading ioredis.
export const EX_UNAVAILABLE = 69;

/** Redis cannot be used: a bad URL, or no server answering there. main.ts prints it and exits 69. */
export class RedisUnavailableError extends Error {
  readonly exitCode = EX_UNAVAILABLE;
}
