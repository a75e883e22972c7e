/**
 * A small WebAssembly binary encoder: just what the CPU kernels need (one function type per
 * function, imported memories and functions, mutable globals, SIMD, multi-memory).
 *
 * It writes the binary directly (no text format, no library): kernels are a few kilobytes, and
 * encoding them takes microseconds, while `WebAssembly.Module` does the real compile work.
 *
 * @module
 */

/** Value types. */
export const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;
/** A value type byte. */
export type ValType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

function uleb(out: number[], n: number): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(out: number[], n: number): void {
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

const f32Bytes = new Uint8Array(4), f32View = new DataView(f32Bytes.buffer);
const f64Bytes = new Uint8Array(8), f64View = new DataView(f64Bytes.buffer);

/** The body of one function: locals and an instruction stream. */
export class Code {
  /** Encoded instructions. */
  readonly bytes: number[] = [];
  /** Types of the declared locals (after the parameters). */
  readonly locals: ValType[] = [];
  readonly #nParams: number;

  /** A body for a function with `nParams` parameters. */
  constructor(nParams: number) {
    this.#nParams = nParams;
  }

  /** Declares a local of type `t`; returns its index. */
  local(t: ValType): number {
    this.locals.push(t);
    return this.#nParams + this.locals.length - 1;
  }

  /** Raw opcode bytes. */
  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }

  /** An unsigned LEB128 immediate. */
  u(n: number): this {
    uleb(this.bytes, n);
    return this;
  }

  /** A SIMD (0xfd-prefixed) instruction. */
  simd(opcode: number): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, opcode);
    return this;
  }

  /** A memory argument: alignment exponent, memory index, byte offset. */
  memarg(align: number, offset = 0, mem = 0): this {
    if (mem === 0) uleb(this.bytes, align);
    else uleb(this.bytes, align | 0x40), uleb(this.bytes, mem);
    uleb(this.bytes, offset);
    return this;
  }

  /** `local.get`. */
  get(i: number): this {
    return this.op(0x20).u(i);
  }
  /** `local.set`. */
  set(i: number): this {
    return this.op(0x21).u(i);
  }
  /** `local.tee`. */
  tee(i: number): this {
    return this.op(0x22).u(i);
  }
  /** `global.get`. */
  gget(i: number): this {
    return this.op(0x23).u(i);
  }
  /** `global.set`. */
  gset(i: number): this {
    return this.op(0x24).u(i);
  }
  /** `i32.const`. */
  i32(n: number): this {
    this.bytes.push(0x41);
    sleb(this.bytes, n | 0);
    return this;
  }
  /** `f32.const`. */
  f32(x: number): this {
    f32View.setFloat32(0, x, true);
    this.bytes.push(0x43, ...f32Bytes);
    return this;
  }
  /** `f64.const`. */
  f64(x: number): this {
    f64View.setFloat64(0, x, true);
    this.bytes.push(0x44, ...f64Bytes);
    return this;
  }
  /** `call`. */
  call(f: number): this {
    return this.op(0x10).u(f);
  }
  /** `block` with no result. */
  block(): this {
    return this.op(0x02, 0x40);
  }
  /** `loop` with no result. */
  loop(): this {
    return this.op(0x03, 0x40);
  }
  /** `if` with no result. */
  if(): this {
    return this.op(0x04, 0x40);
  }
  /** `if` yielding one value of type `t`. */
  ifT(t: ValType): this {
    return this.op(0x04, t);
  }
  /** `else`. */
  else(): this {
    return this.op(0x05);
  }
  /** `end`. */
  end(): this {
    return this.op(0x0b);
  }
  /** `br`. */
  br(depth: number): this {
    return this.op(0x0c).u(depth);
  }
  /** `br_if`. */
  brIf(depth: number): this {
    return this.op(0x0d).u(depth);
  }
  /** `select`. */
  select(): this {
    return this.op(0x1b);
  }

  /**
   * `for (i = from; i < to; i += step) body()` where `from`/`to` push an i32; the body may use
   * `br 1` to continue. Empty ranges run no iteration.
   */
  forLoop(i: number, from: () => void, to: () => void, body: () => void, step = 1): this {
    from();
    this.set(i);
    this.block();
    this.get(i);
    to();
    this.op(0x4e).brIf(0); // i32.ge_s
    this.loop();
    body();
    this.get(i).i32(step).op(0x6a).tee(i); // i32.add
    to();
    this.op(0x48).brIf(0); // i32.lt_s
    this.end().end();
    return this;
  }
}

/** Opcodes used by the kernels (plain and SIMD). */
export const OP = {
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivS: 0x6d,
  i32DivU: 0x6e,
  i32RemU: 0x70,
  i32And: 0x71,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  i32Or: 0x72,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32GtS: 0x4a,
  i32LeS: 0x4c,
  i32GeS: 0x4e,
  i32LtU: 0x49,
  i32Load: 0x28,
  i32Store: 0x36,
  i64Load: 0x29,
  i64Store: 0x37,
  i32Load8U: 0x2d,
  i32Store8: 0x3a,
  f32Load: 0x2a,
  f64Load: 0x2b,
  f32Store: 0x38,
  f64Store: 0x39,
  f32Eq: 0x5b,
  f32Ne: 0x5c,
  f32Lt: 0x5d,
  f32Gt: 0x5e,
  f64Eq: 0x61,
  f64Ne: 0x62,
  f64Lt: 0x63,
  f32Neg: 0x8c,
  f32Sqrt: 0x91,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32Div: 0x95,
  f32Max: 0x97,
  f64Abs: 0x99,
  f64Neg: 0x9a,
  f64Sqrt: 0x9f,
  f64Add: 0xa0,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  f64Div: 0xa3,
  f64Max: 0xa5,
  f32ConvertI32U: 0xb3,
  f32DemoteF64: 0xb6,
  f64ConvertI32U: 0xb8,
  f64PromoteF32: 0xbb,
  memoryFill: 0x0b, // after 0xfc
  // SIMD (after 0xfd)
  v128Load: 0x00,
  v128Load32Splat: 0x09,
  v128Load64Splat: 0x0a,
  v128Store: 0x0b,
  v128Const: 0x0c,
  f32x4Splat: 0x13,
  f64x2Splat: 0x14,
  f32x4ExtractLane: 0x1f,
  f32x4ReplaceLane: 0x20,
  f64x2ExtractLane: 0x21,
  f64x2ReplaceLane: 0x22,
  f32x4Eq: 0x41,
  f32x4Ne: 0x42,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  i32x4Eq: 0x37,
  f64x2Eq: 0x47,
  f64x2Ne: 0x48,
  f64x2Lt: 0x49,
  v128And: 0x4e,
  v128AndNot: 0x4f,
  v128Or: 0x50,
  v128Bitselect: 0x52,
  f32x4Neg: 0xe1,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Max: 0xe9,
  f64x2Neg: 0xed,
  f64x2Sqrt: 0xef,
  f64x2Add: 0xf0,
  f64x2Mul: 0xf2,
  f64x2Div: 0xf3,
  f64x2Max: 0xf5,
} as const;

/** An imported function: module field name and signature. */
export interface ImportFn {
  /** Field name under module `env`. */
  readonly name: string;
  /** Parameter types. */
  readonly params: readonly ValType[];
  /** Result types. */
  readonly results: readonly ValType[];
}

/** A function defined by the module. */
export interface DefinedFn {
  /** Parameter types. */
  readonly params: readonly ValType[];
  /** Result types. */
  readonly results: readonly ValType[];
  /** Its body. */
  readonly code: Code;
  /** Export name, if exported. */
  readonly exportAs?: string;
}

/** An imported memory under module `env`. */
export interface ImportMemory {
  /** Field name. */
  readonly name: string;
  /** Whether it is a shared memory (then `maximum` is required). */
  readonly shared: boolean;
  /** Initial pages. */
  readonly initial: number;
  /** Maximum pages. */
  readonly maximum?: number;
}

function section(out: number[], id: number, body: number[]): void {
  if (body.length === 0) return;
  out.push(id);
  uleb(out, body.length);
  for (const b of body) out.push(b);
}

function vec(out: number[], n: number): void {
  uleb(out, n);
}

function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  out.push(...bytes);
}

/** Encodes a module. Function indices: imports first, then `functions` in order. */
export function encodeModule(m: {
  readonly memories: readonly ImportMemory[];
  readonly imports: readonly ImportFn[];
  readonly functions: readonly DefinedFn[];
  /** Mutable i32 globals, all starting at 0. */
  readonly globals: number;
}): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const sigs = [...m.imports, ...m.functions];
  const types: number[] = [];
  vec(types, sigs.length);
  for (const s of sigs) {
    types.push(0x60);
    vec(types, s.params.length);
    types.push(...s.params);
    vec(types, s.results.length);
    types.push(...s.results);
  }
  section(out, 1, types);
  const imports: number[] = [];
  vec(imports, m.memories.length + m.imports.length);
  for (const mem of m.memories) {
    name(imports, "env");
    name(imports, mem.name);
    imports.push(0x02);
    const flags = (mem.maximum !== undefined ? 1 : 0) | (mem.shared ? 2 : 0);
    imports.push(flags);
    uleb(imports, mem.initial);
    if (mem.maximum !== undefined) uleb(imports, mem.maximum);
  }
  m.imports.forEach((f, i) => {
    name(imports, "env");
    name(imports, f.name);
    imports.push(0x00);
    uleb(imports, i);
  });
  section(out, 2, imports);
  const funcs: number[] = [];
  vec(funcs, m.functions.length);
  m.functions.forEach((_, i) => uleb(funcs, m.imports.length + i));
  section(out, 3, funcs);
  if (m.globals > 0) {
    const g: number[] = [];
    vec(g, m.globals);
    for (let i = 0; i < m.globals; i++) g.push(I32, 0x01, 0x41, 0x00, 0x0b);
    section(out, 6, g);
  }
  const exports: number[] = [];
  const exported = m.functions.flatMap((f, i) => (f.exportAs ? [[f.exportAs, i] as const] : []));
  vec(exports, exported.length);
  for (const [n, i] of exported) {
    name(exports, n);
    exports.push(0x00);
    uleb(exports, m.imports.length + i);
  }
  section(out, 7, exports);
  const codes: number[] = [];
  vec(codes, m.functions.length);
  for (const f of m.functions) {
    const body: number[] = [];
    // Run-length groups of equal local types.
    const groups: [number, ValType][] = [];
    for (const t of f.code.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    vec(body, groups.length);
    for (const [n, t] of groups) uleb(body, n), body.push(t);
    for (const b of f.code.bytes) body.push(b);
    body.push(0x0b);
    uleb(codes, body.length);
    for (const b of body) codes.push(b);
  }
  section(out, 10, codes);
  return new Uint8Array(out);
}
