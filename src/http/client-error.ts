import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { FhirError } from '../fhir/errors.js';
import { HTTP_STATUS } from './status.js';

/**
 * Requests Node's HTTP parser refuses before Koa sees them (a request line or headers over
 * `maxHeaderSize`, malformed syntax) are answered with an OperationOutcome like every other error
 * (issue 15), not Node's bare `431`/`400`. Nothing of the request is logged or echoed.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const error =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new FhirError('headers-too-large', 'The request line or its headers are too large')
        : new FhirError('bad-request', 'The request is malformed HTTP');
    const status = HTTP_STATUS[error.code];
    const body = JSON.stringify(error.outcome);
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `Content-Type: application/fhir+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
