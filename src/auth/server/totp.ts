import { Secret, TOTP } from 'otpauth';

const PERIOD = 30;

function totpOf(secret: string, label = 'FhirGate'): TOTP {
  return new TOTP({ issuer: 'FhirGate', label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(secret) });
}

/** A new TOTP secret (160 bits, base32), as authenticator apps expect (RFC 6238). */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/**
 * Checks a TOTP code, allowing one period of clock drift either way. Returns the time step the code
 * belongs to, or undefined. A step at or before `lastCounter` is refused, so a code works only once.
 */
export function checkTotp(secret: string, code: string, lastCounter = -1, now = Date.now()): number | undefined {
  if (!/^[0-9]{6}$/.test(code)) return undefined;
  const totp = totpOf(secret);
  const delta = totp.validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return undefined;
  const counter = Math.floor(now / 1000 / PERIOD) + delta;
  return counter > lastCounter ? counter : undefined;
}

/** The current code (tests and the CLI's self-check). */
export function currentTotp(secret: string, now = Date.now()): string {
  return totpOf(secret).generate({ timestamp: now });
}

/** The `otpauth://` URI of the secret and its QR code as a PNG data URL, for enrolment. */
export async function enrolment(secret: string, username: string): Promise<{ uri: string; qrDataUrl: string }> {
  const uri = totpOf(secret, username).toString();
  // Loaded on the first enrolment, not at every start (issue 13).
  const { default: QRCode } = await import('qrcode');
  return { uri, qrDataUrl: await QRCode.toDataURL(uri) };
}
