/** A class that travels as its own ext type (code 5), with the translator it declares. */
import { Packer } from 'zrpc';

const packer = new Packer();

/** @translator 5 */
export class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}

  static pack(point: Point): Uint8Array {
    return packer.encode([point.x, point.y]);
  }

  static unpack(data: Uint8Array): Point {
    const [x, y] = packer.decode(data) as [number, number];
    return new Point(x, y);
  }
}
