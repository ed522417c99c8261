/**
 * Secret values at rest: AES-256-GCM with a random 12-byte nonce per value, and the function id
 * and secret name as additional authenticated data, so a blob copied onto another function or
 * name fails to open instead of leaking there. A blob is `version (1 byte) | nonce | ciphertext |
 * tag`; the version byte lets a later build change the scheme and still read old rows.
 *
 * A wrong key is told apart from garbage by GCM's tag: it fails, and the caller learns which key
 * to restore. Values never enter a message or a log line; names and function ids do.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { FaasError } from '@faas/common';

const FORMAT_AES_256_GCM = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretBox {
  seal(functionId: string, name: string, value: string): Buffer;
  /** Throws FAAS_ERR_STORE_UNAVAILABLE when the blob was sealed with another key or is damaged. */
  open(functionId: string, name: string, blob: Buffer): string;
}

/** JSON keeps the two parts apart whatever they contain ("a", "b=c" differs from "a=b", "c"). */
function associatedData(functionId: string, name: string): Buffer {
  return Buffer.from(JSON.stringify(['faas-secret', functionId, name]));
}

export function secretBox(key: Buffer): SecretBox {
  if (key.length !== 32) {
    throw new FaasError(
      'FAAS_ERR_CONFIG',
      `the secrets key is ${key.length} bytes, AES-256-GCM needs 32: set FAAS_SECRETS_KEY to 64 hex digits, e.g. \`openssl rand -hex 32\``,
    );
  }
  const secretsKey = Buffer.from(key);
  return {
    seal(functionId, name, value) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', secretsKey, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData(functionId, name));
      const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
      return Buffer.concat([Buffer.of(FORMAT_AES_256_GCM), nonce, body, cipher.getAuthTag()]);
    },
    open(functionId, name, blob) {
      const which = `secret ${JSON.stringify(name)} of function ${JSON.stringify(functionId)}`;
      if (blob[0] !== FORMAT_AES_256_GCM || blob.length < 1 + NONCE_BYTES + TAG_BYTES) {
        throw new FaasError(
          'FAAS_ERR_STORE_UNAVAILABLE',
          `${which} is stored in a format this build does not know (${blob[0] ?? 'empty'}): run the build that wrote it, or set all of the function's secrets again in one PATCH /functions/{id}`,
        );
      }
      const nonce = blob.subarray(1, 1 + NONCE_BYTES);
      const tag = blob.subarray(blob.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', secretsKey, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(functionId, name));
      decipher.setAuthTag(tag);
      try {
        const plain = Buffer.concat([decipher.update(blob.subarray(1 + NONCE_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
        return plain.toString('utf8');
      } catch (err) {
        throw new FaasError(
          'FAAS_ERR_STORE_UNAVAILABLE',
          `secrets cannot be decrypted with this FAAS_SECRETS_KEY (${which} fails its integrity check): set FAAS_SECRETS_KEY, or <FAAS_DATA_DIR>/secrets.key, back to the key they were encrypted with; if that key is lost, set all of the function's secrets again in one PATCH /functions/{id} ("secrets" naming every one, or null to delete them all)`,
          { cause: err },
        );
      }
    },
  };
}
