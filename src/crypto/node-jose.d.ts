/**
 * The part of `node-jose` (https://github.com/cisco/node-jose, no bundled types) FhirGate uses:
 * JWK keys and key stores, compact JWE encryption and decryption.
 */
declare module 'node-jose' {
  namespace jose {
  namespace JWK {
    interface RawKey {
      kty: string;
      kid?: string;
      use?: string;
      alg?: string;
      [member: string]: unknown;
    }
    interface Key {
      readonly kty: string;
      readonly kid: string;
      readonly use: string;
      readonly alg: string;
      /** The public JWK, or with `true` the private members too. */
      toJSON(includePrivate?: boolean): RawKey;
      algorithms(mode: 'encrypt' | 'decrypt' | 'wrap' | 'unwrap' | 'sign' | 'verify'): string[];
    }
    interface KeyStore {
      add(key: RawKey | Key): Promise<Key>;
      get(kid: string, props?: Record<string, string>): Key | null;
      all(props?: Record<string, string>): Key[];
      toJSON(includePrivate?: boolean): { keys: RawKey[] };
    }
    function createKeyStore(): KeyStore;
    function asKey(key: RawKey | string): Promise<Key>;
    function asKeyStore(set: { keys: RawKey[] } | string): Promise<KeyStore>;
    function createKey(kty: 'oct' | 'EC' | 'RSA', size: number | string, props?: Record<string, string>): Promise<Key>;
  }
  namespace JWE {
    interface EncryptOptions {
      format?: 'compact' | 'flattened' | 'general';
      contentAlg?: string;
      fields?: Record<string, unknown>;
      zip?: boolean;
      /** The content encryption's IV (default: node-jose draws one from node-forge's PRNG). */
      iv?: Buffer | string;
    }
    interface Encrypter {
      update(data: Buffer | string, encoding?: BufferEncoding): Encrypter;
      final(): Promise<string>;
    }
    interface DecryptResult {
      header: Record<string, unknown>;
      key: JWK.Key;
      plaintext: Buffer;
      payload: Buffer;
    }
    interface Decrypter {
      decrypt(input: string): Promise<DecryptResult>;
    }
    function createEncrypt(options: EncryptOptions, key: JWK.Key): Encrypter;
    function createDecrypt(keys: JWK.Key | JWK.KeyStore, options?: { algorithms?: string[] }): Decrypter;
  }
  }
  export default jose;
}
