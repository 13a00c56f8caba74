import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Rule: log resource type and id, never resource content:
 * the serializers below are the only way request data reaches a log line.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'fhirgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: should anyone log a request body or token by mistake, it is removed.
      redact: { paths: ['body', 'resource', 'req.headers.authorization', '*.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}
