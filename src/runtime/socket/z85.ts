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

/**
 * Why `key` is not a Z85 CURVE key, or undefined when it is one: 40 characters of the
 * alphabet, in groups of five that each stand for 32 bits (85^5 is more than 2^32, so
 * some groups of valid characters overflow; ZeroMQ's own check misses that).
 */
export function z85KeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return `is ${key === null ? 'null' : typeof key}, not a string`;
  if (key.length !== 40) return `has ${key.length} characters, not 40`;
  for (let group = 0; group < 40; group += 5) {
    let value = 0;
    for (let i = group; i < group + 5; i++) {
      const digit = alphabet.indexOf(key[i]!);
      if (digit < 0) return `has ${JSON.stringify(key[i])} at ${i}, which is not a Z85 character`;
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) return `has characters ${group}..${group + 4} that overflow 32 bits`;
  }
  return undefined;
}

/** Decodes a key `z85KeyProblem` accepts into its 32 bytes. */
export function z85Decode(text: string): Uint8Array {
  const out = new Uint8Array((text.length / 5) * 4);
  for (let group = 0, o = 0; group < text.length; group += 5, o += 4) {
    let value = 0;
    for (let i = group; i < group + 5; i++) value = value * 85 + alphabet.indexOf(text[i]!);
    out[o] = value >>> 24;
    out[o + 1] = (value >>> 16) & 0xff;
    out[o + 2] = (value >>> 8) & 0xff;
    out[o + 3] = value & 0xff;
  }
  return out;
}
