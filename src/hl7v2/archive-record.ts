/** What the HL7 v2 archive keeps of a message, and how it is listed (archive.ts). */

export type Outcome = 'received' | 'applied' | 'error' | 'rejected';

/** What the archive keeps of every message (docs/hl7v2-operations.md); `raw` is read on demand. */
export interface ArchivedMessage {
  id: string;
  receivedAt: string;
  updatedAt: string;
  /** MSH-3 / MSH-4 and where the message came from (`mllp://1.2.3.4:5000`, `http`). */
  sender: { application: string; facility: string; address: string };
  transport: 'mllp' | 'http';
  controlId: string;
  /**
   * `meta.source` of what the message writes, when not the one its dedupe key gives: a message
   * reusing an earlier message's control id with other content (issue 19) gets its own, so
   * recovery after a crash tells their writes apart.
   */
  source?: string;
  messageType: string;
  version: string;
  outcome: Outcome;
  /** MSA-1 of the last acknowledgement. */
  ack?: string;
  error?: { code: string; text: string; location?: string };
  /** `Type/id` of every resource the message wrote, or named and found unchanged (not written again). */
  resources: string[];
  /** How often the message was applied (replays) and redelivered (duplicates acknowledged again). */
  attempts: number;
  duplicates: number;
}

export interface ListQuery {
  outcome?: string;
  messageType?: string;
  controlId?: string;
  sender?: string;
  since?: string;
  until?: string;
  /**
   * Substring of the raw message text (case-insensitive). The raw texts are encrypted: each
   * candidate (after the metadata filters) is read and decrypted, about 0.1–0.3 ms per message.
   */
  text?: string;
  count?: number;
  /** Id of the last record of the previous page (newest first). */
  before?: string;
}
