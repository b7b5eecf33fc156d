/**
 * Z85 (ZeroMQ RFC 32), the text form of CURVE keys. The ZAP handler gets a client's key
 * as 32 raw bytes and compares it with the allow-list's text keys.
 */
const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Encodes bytes whose length is a multiple of 4. */
export function z85Encode(data: Uint8Array): string {
  if (data.byteLength % 4 !== 0) throw new RangeError('Z85 encodes whole groups of 4 bytes');
  let out = '';
  for (let i = 0; i < data.byteLength; i += 4) {
    let value = ((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!) >>> 0;
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = alphabet[value % 85]! + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

/** Whether `key` looks like a Z85 CURVE key: 40 characters of the alphabet. */
export function isZ85Key(key: string): boolean {
  return key.length === 40 && [...key].every((c) => alphabet.includes(c));
}
