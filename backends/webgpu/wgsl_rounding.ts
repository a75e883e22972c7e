/**
 * WGSL helpers of the rounding and integer-division ops, with the host backends' values
 * (core/scalar_ops.ts) bit for bit. WGSL lets compilers assume that no NaN or infinity occurs
 * and leaves `%` of floats inexact and integer division by zero or `-2^31 / -1` to the
 * implementation, so special values are told apart by their bits, float `fmod` is computed on
 * the integer significands (exact, subnormals included, as musl's `fmodf`), and the integer
 * helpers guard a zero or -1 divisor.
 *
 * @module
 */

/** The helper functions, included in every shader beside the index helpers. */
export const ROUNDING_HELPERS = `fn fmod_f32(a: f32, b: f32) -> f32 {
  let ua = bitcast<u32>(a) & 0x7fffffffu;
  let ub = bitcast<u32>(b) & 0x7fffffffu;
  let sa = bitcast<u32>(a) & 0x80000000u;
  if (ua >= 0x7f800000u || ub > 0x7f800000u || ub == 0u) { return bitcast<f32>(0x7fc00000u); }
  if (ua < ub) { return a; }
  var ex = i32(ua >> 23u);
  var ey = i32(ub >> 23u);
  var mx = ua & 0x7fffffu;
  var my = ub & 0x7fffffu;
  if (ex == 0) { let sx = i32(countLeadingZeros(mx)) - 8; mx = mx << u32(sx); ex = 1 - sx; }
  else { mx = mx | 0x800000u; }
  if (ey == 0) { let sy = i32(countLeadingZeros(my)) - 8; my = my << u32(sy); ey = 1 - sy; }
  else { my = my | 0x800000u; }
  for (; ex > ey; ex = ex - 1) {
    if (mx >= my) {
      if (mx == my) { return bitcast<f32>(sa); }
      mx = mx - my;
    }
    mx = mx << 1u;
  }
  if (mx >= my) {
    if (mx == my) { return bitcast<f32>(sa); }
    mx = mx - my;
  }
  let sr = i32(countLeadingZeros(mx)) - 8;
  mx = mx << u32(sr);
  ex = ex - sr;
  if (ex > 0) { mx = (mx - 0x800000u) | (u32(ex) << 23u); } else { mx = mx >> u32(1 - ex); }
  return bitcast<f32>(mx | sa);
}
fn floor_div_f32(a: f32, b: f32) -> f32 {
  let ua = bitcast<u32>(a) & 0x7fffffffu;
  let ub = bitcast<u32>(b) & 0x7fffffffu;
  let sq = (bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u;
  let nan = bitcast<f32>(0x7fc00000u);
  if (ub == 0u) { return select(bitcast<f32>(0x7f800000u | sq), nan, ua == 0u || ua > 0x7f800000u); }
  if (ua >= 0x7f800000u || ub > 0x7f800000u) { return nan; }
  if (ub == 0x7f800000u) {
    return select(bitcast<f32>(sq), -1.0, ua != 0u && sq != 0u);
  }
  let m = fmod_f32(a, b);
  var d = (a - m) / b;
  if (m != 0.0 && (b < 0.0) != (m < 0.0)) { d = d - 1.0; }
  if ((bitcast<u32>(d) & 0x7f800000u) == 0x7f800000u) { return d; }
  if (d == 0.0) { return bitcast<f32>(sq); }
  var f = floor(d);
  if (d - f > 0.5) { f = f + 1.0; }
  return f;
}
fn fmod_i32(a: i32, b: i32) -> i32 {
  if (b == 0 || b == -1) { return 0; }
  return a % b;
}
fn floor_div_i32(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  if (b == -1) { return 0 - a; }
  let q = a / b;
  let m = a % b;
  return select(q, q - 1, m != 0 && ((m < 0) != (b < 0)));
}
`;
