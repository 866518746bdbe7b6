// Hand-written PTX for the engine's edge cases: divergence and
// reconvergence, NaN-aware comparisons, conversions and rounding, bit
// manipulation, named barriers, jump tables, calls, module loading errors.
#include <cfenv>
#include <cmath>
#include <cstring>

#include "test_ptx_harness.h"

using namespace ptxtest;

namespace {

std::string module(const std::string& body, const std::string& params = ".param .u64 out, .param .u64 in",
                   const std::string& extra = "") {
  return ".version 8.0\n.target sm_80\n.address_size 64\n" + extra + "\n.visible .entry k(" + params + ")\n{\n" +
         body + "\n}\n";
}

uint32_t fbits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float bitsf(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Runs kernel `k` of `ptx` with (out, in) buffers; returns `outWords` words of out.
std::vector<uint32_t> run(const std::string& ptx, const std::vector<uint32_t>& in, size_t outWords, Dim grid = {1},
                          Dim block = {32}, modnn_status expect = MODNN_OK) {
  Device d;
  modnn_module* m = d.loadOk(ptx);
  REQUIRE(d.supports(m, "k"));
  uint64_t dout = d.alloc(outWords * 4), din = d.upload(in.empty() ? std::vector<uint32_t>{0} : in);
  Params p;
  p.add(dout).add(din);
  REQUIRE(d.launch(m, "k", grid, block, p) == expect);
  return d.download<uint32_t>(dout, outWords);
}

const char* kPrologue = R"(
  .reg .pred %p<8>;
  .reg .b16 %h<8>;
  .reg .b32 %r<40>;
  .reg .f32 %f<16>;
  .reg .b64 %rd<16>;
  .reg .f64 %fd<8>;
  ld.param.u64 %rd1, [out];
  ld.param.u64 %rd2, [in];
  mov.u32 %r1, %tid.x;
  mul.wide.u32 %rd3, %r1, 4;
  add.s64 %rd4, %rd2, %rd3;   // &in[tid]
)";

}  // namespace

TEST_CASE("divergent branches reconverge before warp-synchronous ops", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  and.b32 %r2, %r1, 3;
  setp.eq.u32 %p1, %r2, 0;
  @%p1 bra A;
  setp.eq.u32 %p2, %r2, 1;
  @%p2 bra B;
  mov.u32 %r3, 300;
  bra.uni J;
A:
  mov.u32 %r3, 100;
  bra.uni J;
B:
  mov.u32 %r3, 200;
J:
  activemask.b32 %r4;
  shfl.sync.idx.b32 %r5, %r3, 1, 31, -1;
  mul.wide.u32 %rd5, %r1, 16;
  add.s64 %rd6, %rd1, %rd5;
  st.global.v2.u32 [%rd6], {%r3, %r4};
  st.global.u32 [%rd6+8], %r5;
  ret;)");
  auto out = run(ptx, {}, 32 * 4);
  for (int l = 0; l < 32; ++l) {
    uint32_t expect = (l & 3) == 0 ? 100 : (l & 3) == 1 ? 200 : 300;
    REQUIRE(out[l * 4] == expect);
    REQUIRE(out[l * 4 + 1] == 0xffffffffu);
    REQUIRE(out[l * 4 + 2] == 200u);
  }
}

TEST_CASE("per-lane loop trip counts and a subset shuffle in divergent code", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  mov.u32 %r2, 0;
  mov.u32 %r3, 0;
LOOP:
  add.u32 %r3, %r3, %r2;
  add.u32 %r2, %r2, 1;
  setp.le.u32 %p1, %r2, %r1;
  @%p1 bra LOOP;
  // lanes 0..15 exchange with a half-warp member mask
  setp.ge.u32 %p2, %r1, 16;
  mov.u32 %r5, 0;
  @%p2 bra SKIP;
  shfl.sync.bfly.b32 %r5, %r3, 1, 31, 0xffff;
SKIP:
  mul.wide.u32 %rd5, %r1, 8;
  add.s64 %rd6, %rd1, %rd5;
  st.global.v2.u32 [%rd6], {%r3, %r5};
  ret;)");
  auto out = run(ptx, {}, 64);
  for (uint32_t l = 0; l < 32; ++l) {
    uint32_t tri = l * (l + 1) / 2;
    uint32_t other = l ^ 1;
    REQUIRE(out[l * 2] == tri);
    REQUIRE(out[l * 2 + 1] == (l < 16 ? other * (other + 1) / 2 : 0u));
  }
}

TEST_CASE("exited threads do not hold a barrier", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  .shared .align 4 .b8 buf[256];
  setp.ge.u32 %p1, %r1, 40;
  @%p1 exit;
  mov.u32 %r2, buf;
  shl.b32 %r3, %r1, 2;
  add.u32 %r4, %r2, %r3;
  mul.lo.u32 %r5, %r1, 7;
  st.shared.u32 [%r4], %r5;
  bar.sync 0;
  add.u32 %r6, %r1, 1;
  rem.u32 %r7, %r6, 40;
  shl.b32 %r8, %r7, 2;
  add.u32 %r9, %r2, %r8;
  ld.shared.u32 %r10, [%r9];
  add.s64 %rd5, %rd1, %rd3;
  st.global.u32 [%rd5], %r10;
  ret;)");
  auto out = run(ptx, {}, 64, {1}, {64});
  for (uint32_t t = 0; t < 40; ++t) REQUIRE(out[t] == ((t + 1) % 40) * 7);
}

TEST_CASE("setp with every comparison, including NaN-aware ones", "[ptx][snippet]") {
  const char* cmps[] = {"eq", "ne", "lt", "le", "gt", "ge", "equ", "neu", "ltu", "leu", "gtu", "geu", "num", "nan"};
  std::string body = std::string(kPrologue) + R"(
  ld.global.f32 %f1, [%rd4];
  ld.global.f32 %f2, [%rd4+128];
  mov.u32 %r10, 0;
)";
  for (int i = 0; i < 14; ++i) {
    body += "  setp." + std::string(cmps[i]) + ".f32 %p1, %f1, %f2;\n";
    body += "  selp.u32 %r11, " + std::to_string(1u << i) + ", 0, %p1;\n  or.b32 %r10, %r10, %r11;\n";
  }
  body += "  add.s64 %rd5, %rd1, %rd3;\n  st.global.u32 [%rd5], %r10;\n  ret;";
  float vals[] = {0.0f, -0.0f, 1.0f, -1.0f, INFINITY, -INFINITY, NAN, 2.5f};
  std::vector<uint32_t> in(64);
  std::vector<std::pair<float, float>> pairs;
  for (int l = 0; l < 32; ++l) {
    float a = vals[l % 8], b = vals[(l / 8 + l) % 8];
    pairs.emplace_back(a, b);
    in[l] = fbits(a);
    in[32 + l] = fbits(b);
  }
  auto out = run(module(body), in, 32);
  for (int l = 0; l < 32; ++l) {
    float a = pairs[l].first, b = pairs[l].second;
    bool un = std::isnan(a) || std::isnan(b);
    bool ref[14] = {!un && a == b, !un && a != b, a < b,        a <= b,       a > b,         a >= b,  un || a == b,
                    un || a != b,  un || a < b,   un || a <= b, un || a > b,  un || a >= b, !un,    un};
    for (int i = 0; i < 14; ++i) {
      INFO("a " << a << " b " << b << " cmp " << cmps[i]);
      REQUIRE(((out[l] >> i) & 1) == uint32_t(ref[i]));
    }
  }
}

TEST_CASE("setp combining forms and p|q destinations", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  and.b32 %r2, %r1, 1;
  setp.ne.u32 %p3, %r2, 0;
  setp.lt.and.s32 %p1|%p2, %r1, 16, %p3;
  setp.gt.or.s32 %p4, %r1, 28, !%p3;
  selp.u32 %r3, 1, 0, %p1;
  selp.u32 %r4, 2, 0, %p2;
  selp.u32 %r5, 4, 0, %p4;
  or.b32 %r6, %r3, %r4;
  or.b32 %r6, %r6, %r5;
  @!%p3 add.u32 %r6, %r6, 8;
  add.s64 %rd5, %rd1, %rd3;
  st.global.u32 [%rd5], %r6;
  ret;)");
  auto out = run(ptx, {}, 32);
  for (uint32_t l = 0; l < 32; ++l) {
    bool odd = l & 1;
    uint32_t v = (l < 16 && odd ? 1 : 0) | (!(l < 16) && odd ? 2 : 0) | ((l > 28 || !odd) ? 4 : 0) | (!odd ? 8 : 0);
    REQUIRE(out[l] == v);
  }
}

TEST_CASE("float to integer and integral rounding", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  ld.global.f32 %f1, [%rd4];
  cvt.rni.s32.f32 %r2, %f1;
  cvt.rzi.s32.f32 %r3, %f1;
  cvt.rmi.s32.f32 %r4, %f1;
  cvt.rpi.s32.f32 %r5, %f1;
  cvt.rni.f32.f32 %f2, %f1;
  cvt.rzi.u32.f32 %r6, %f1;
  cvt.rni.s64.f32 %rd7, %f1;
  cvt.u32.u64 %r7, %rd7;
  mul.wide.u32 %rd5, %r1, 32;
  add.s64 %rd6, %rd1, %rd5;
  st.global.v4.u32 [%rd6], {%r2, %r3, %r4, %r5};
  st.global.f32 [%rd6+16], %f2;
  st.global.u32 [%rd6+20], %r6;
  st.global.u32 [%rd6+24], %r7;
  ret;)");
  float vals[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.7f, -3.7f, 1e20f, -1e20f, NAN, 0.0f, -0.0f, 4294967296.0f,
                  2147483520.0f, -2147483648.0f};
  std::vector<uint32_t> in;
  for (float v : vals) in.push_back(fbits(v));
  in.resize(32, 0);
  auto out = run(ptx, in, 32 * 8);
  auto sat = [](double v, double lo, double hi) { return std::isnan(v) ? 0.0 : std::min(std::max(v, lo), hi); };
  for (int i = 0; i < 16; ++i) {
    double v = vals[i];
    INFO("v " << v);
    REQUIRE(int32_t(out[i * 8 + 0]) == int32_t(sat(std::nearbyint(v), INT32_MIN, INT32_MAX)));
    REQUIRE(int32_t(out[i * 8 + 1]) == int32_t(sat(std::trunc(v), INT32_MIN, INT32_MAX)));
    REQUIRE(int32_t(out[i * 8 + 2]) == int32_t(sat(std::floor(v), INT32_MIN, INT32_MAX)));
    REQUIRE(int32_t(out[i * 8 + 3]) == int32_t(sat(std::ceil(v), INT32_MIN, INT32_MAX)));
    float r = std::nearbyint(vals[i]);
    if (std::isnan(r)) REQUIRE(std::isnan(bitsf(out[i * 8 + 4])));
    else REQUIRE(out[i * 8 + 4] == fbits(r));
    REQUIRE(out[i * 8 + 5] == uint32_t(sat(std::trunc(v), 0, 4294967295.0)));
    REQUIRE(int32_t(out[i * 8 + 6]) == int32_t(int64_t(sat(std::nearbyint(v), -9.2233720368547758e18, 9.2233720368547758e18))));
  }
}

TEST_CASE("conversions to f16, bf16, tf32 and narrower integers", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  ld.global.f32 %f1, [%rd4];
  ld.global.u32 %r20, [%rd4+128];
  cvt.rn.f16.f32 %h1, %f1;
  cvt.rz.f16.f32 %h2, %f1;
  cvt.rm.f16.f32 %h3, %f1;
  cvt.rp.f16.f32 %h4, %f1;
  cvt.rn.bf16.f32 %h5, %f1;
  mov.b32 %r2, {%h1, %h2};
  mov.b32 %r3, {%h3, %h4};
  cvt.u32.u16 %r4, %h5;
  cvt.rna.tf32.f32 %r5, %f1;
  cvt.sat.u8.s32 %r6, %r20;
  cvt.s8.s32 %r7, %r20;
  cvt.sat.s16.s32 %r8, %r20;
  cvt.u16.u32 %h6, %r20;
  cvt.s32.s16 %r9, %h6;
  cvt.f32.f16 %f2, %h1;
  cvt.rn.f16x2.f32 %r10, %f1, %f2;
  mul.wide.u32 %rd5, %r1, 48;
  add.s64 %rd6, %rd1, %rd5;
  st.global.v4.u32 [%rd6], {%r2, %r3, %r4, %r5};
  st.global.v4.u32 [%rd6+16], {%r6, %r7, %r8, %r9};
  st.global.f32 [%rd6+32], %f2;
  st.global.u32 [%rd6+36], %r10;
  ret;)");
  float vals[] = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, -1.0f - 1.0f / 2048, 65504.0f, 65520.0f, 1e6f, -1e6f,
                  5.9604645e-8f, 2.9802322e-8f, 1e-10f, NAN, -0.0f, 3.14159265f, -2.71828f, 0.1f, 1.00390625f};
  int32_t ints[] = {300, -5, 255, 256, -129, 127, 40000, -40000, 65535, 0, 1, -1, 128, -128, 70000, 12345};
  std::vector<uint32_t> in(64, 0);
  for (int i = 0; i < 16; ++i) {
    in[i] = fbits(vals[i]);
    in[32 + i] = uint32_t(ints[i]);
  }
  auto out = run(ptx, in, 32 * 12);
  // mode: 0 rn, 1 rz, 2 rm, 3 rp; reference by search over the half grid
  auto toHalf = [](float v, int mode) -> uint16_t {
    auto val = [](uint32_t b) {
      uint32_t e = b >> 10, m = b & 0x3ff;
      return e == 0 ? std::ldexp(double(m), -24) : e == 31 ? INFINITY : std::ldexp(double(m | 0x400), int(e) - 25);
    };
    double x = v, a = std::fabs(x);
    bool neg = std::signbit(x);
    uint32_t lo = 0;
    for (uint32_t b = 0; b < 0x7c00; ++b)
      if (val(b) <= a) lo = b;
    uint32_t hi = val(lo) == a ? lo : lo + 1;
    uint32_t pick;
    switch (mode) {
      case 1: pick = lo; break;
      case 2: pick = neg ? hi : lo; break;
      case 3: pick = neg ? lo : hi; break;
      default:
        if (hi == 0x7c00) {
          pick = a >= 65520.0 ? hi : lo;
        } else {
          double d1 = a - val(lo), d2 = val(hi) - a;
          pick = d1 < d2 ? lo : d2 < d1 ? hi : ((lo & 1) ? hi : lo);
        }
    }
    return uint16_t((neg ? 0x8000 : 0) | pick);
  };
  for (int i = 0; i < 16; ++i) {
    float v = vals[i];
    INFO("v " << v);
    uint32_t w0 = out[i * 12], w1 = out[i * 12 + 1];
    if (!std::isnan(v)) {
      REQUIRE((w0 & 0xffff) == toHalf(v, 0));
      REQUIRE((w0 >> 16) == toHalf(v, 1));
      REQUIRE((w1 & 0xffff) == toHalf(v, 2));
      REQUIRE((w1 >> 16) == toHalf(v, 3));
      uint32_t b = fbits(v), r = b >> 16, rest = b & 0xffff;
      if (rest > 0x8000 || (rest == 0x8000 && (r & 1))) ++r;
      REQUIRE(out[i * 12 + 2] == r);
      uint32_t t = (b + 0x1000) & ~0x1fffu;  // round half away from zero on the magnitude
      REQUIRE(out[i * 12 + 3] == t);
    } else {
      REQUIRE((w0 & 0x7c00) == 0x7c00);
      REQUIRE((w0 & 0x3ff) != 0);
    }
    int32_t x = ints[i];
    REQUIRE(out[i * 12 + 4] == uint32_t(std::min(std::max(x, 0), 255)));
    REQUIRE(int32_t(out[i * 12 + 5]) == int32_t(int8_t(x)));
    REQUIRE(int32_t(out[i * 12 + 6]) == std::min(std::max(x, -32768), 32767));
    REQUIRE(int32_t(out[i * 12 + 7]) == int32_t(int16_t(uint16_t(x))));
  }
}

TEST_CASE("f64 to f32 with directed rounding and .sat/.ftz", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  mul.wide.u32 %rd8, %r1, 8;
  add.s64 %rd9, %rd2, %rd8;
  ld.global.f64 %fd1, [%rd9];
  cvt.rn.f32.f64 %f1, %fd1;
  cvt.rz.f32.f64 %f2, %fd1;
  cvt.rm.f32.f64 %f3, %fd1;
  cvt.rp.f32.f64 %f4, %fd1;
  cvt.sat.f32.f32 %f5, %f1;
  cvt.ftz.f32.f32 %f6, %f1;
  add.rz.f32 %f7, %f1, 0f33800000;
  mul.rp.f32 %f8, %f1, 0f3F8CCCCD;
  mul.wide.u32 %rd5, %r1, 32;
  add.s64 %rd6, %rd1, %rd5;
  st.global.v4.f32 [%rd6], {%f1, %f2, %f3, %f4};
  st.global.v4.f32 [%rd6+16], {%f5, %f6, %f7, %f8};
  ret;)");
  double vals[] = {1.0 / 3, -1.0 / 3, 1e40, -1e40, 0.1, 1e-40, -1e-40, 1.5, 2.0 / 3, 3.4028235e38, 1e-50, -2.0 / 3,
                   0.7, 1.2, 100.0001, 1e-45};
  std::vector<uint32_t> in(64, 0);
  std::memcpy(in.data(), vals, sizeof vals);
  auto out = run(ptx, in, 32 * 8);
  auto rounded = [](int mode, auto fn) {
    std::fesetround(mode);
    volatile auto r = fn();
    std::fesetround(FE_TONEAREST);
    return r;
  };
  for (int i = 0; i < 16; ++i) {
    volatile double v = vals[i];
    INFO("v " << vals[i]);
    volatile float f1 = float(v);
    REQUIRE(out[i * 8 + 0] == fbits(f1));
    REQUIRE(out[i * 8 + 1] == fbits(rounded(FE_TOWARDZERO, [&] { return float(v); })));
    REQUIRE(out[i * 8 + 2] == fbits(rounded(FE_DOWNWARD, [&] { return float(v); })));
    REQUIRE(out[i * 8 + 3] == fbits(rounded(FE_UPWARD, [&] { return float(v); })));
    float s = std::min(std::max(float(f1), 0.0f), 1.0f);
    REQUIRE(out[i * 8 + 4] == fbits(s));
    float z = std::fpclassify(f1) == FP_SUBNORMAL ? std::copysign(0.0f, f1) : f1;
    REQUIRE(out[i * 8 + 5] == fbits(z));
    volatile float tiny = bitsf(0x33800000);
    REQUIRE(out[i * 8 + 6] == fbits(rounded(FE_TOWARDZERO, [&] { return float(f1 + tiny); })));
    volatile float k = bitsf(0x3F8CCCCD);
    REQUIRE(out[i * 8 + 7] == fbits(rounded(FE_UPWARD, [&] { return float(f1 * k); })));
  }
}

TEST_CASE("min/max/abs/neg/copysign/testp with NaN, infinities and signed zero", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  ld.global.f32 %f1, [%rd4];
  ld.global.f32 %f2, [%rd4+128];
  min.f32 %f3, %f1, %f2;
  max.f32 %f4, %f1, %f2;
  min.NaN.f32 %f5, %f1, %f2;
  abs.f32 %f6, %f1;
  neg.f32 %f7, %f1;
  copysign.f32 %f8, %f2, %f1;
  testp.finite.f32 %p1, %f1;
  testp.subnormal.f32 %p2, %f1;
  testp.notanumber.f32 %p3, %f1;
  selp.u32 %r2, 1, 0, %p1;
  selp.u32 %r3, 2, 0, %p2;
  selp.u32 %r4, 4, 0, %p3;
  or.b32 %r2, %r2, %r3;
  or.b32 %r2, %r2, %r4;
  mul.wide.u32 %rd5, %r1, 28;
  add.s64 %rd6, %rd1, %rd5;
  st.global.f32 [%rd6], %f3;
  st.global.f32 [%rd6+4], %f4;
  st.global.f32 [%rd6+8], %f5;
  st.global.f32 [%rd6+12], %f6;
  st.global.f32 [%rd6+16], %f7;
  st.global.f32 [%rd6+20], %f8;
  st.global.u32 [%rd6+24], %r2;
  ret;)");
  float vals[] = {0.0f, -0.0f, 1.0f, NAN, -INFINITY, 1e-40f, -3.0f, INFINITY};
  std::vector<uint32_t> in(64);
  std::vector<std::pair<float, float>> pairs;
  for (int l = 0; l < 32; ++l) {
    float a = vals[l % 8], b = vals[(l * 3 + 1) % 8];
    pairs.emplace_back(a, b);
    in[l] = fbits(a);
    in[32 + l] = fbits(b);
  }
  auto out = run(ptx, in, 32 * 7);
  for (int l = 0; l < 32; ++l) {
    float a = pairs[l].first, b = pairs[l].second;
    INFO("a " << a << " b " << b);
    auto mn = [](float x, float y) {
      if (std::isnan(x)) return y;
      if (std::isnan(y)) return x;
      if (x == y) return std::signbit(x) ? x : y;
      return x < y ? x : y;
    };
    auto mx = [](float x, float y) {
      if (std::isnan(x)) return y;
      if (std::isnan(y)) return x;
      if (x == y) return std::signbit(x) ? y : x;
      return x > y ? x : y;
    };
    auto same = [](uint32_t got, float want) { return std::isnan(want) ? std::isnan(bitsf(got)) : got == fbits(want); };
    REQUIRE(same(out[l * 7 + 0], mn(a, b)));
    REQUIRE(same(out[l * 7 + 1], mx(a, b)));
    REQUIRE(same(out[l * 7 + 2], (std::isnan(a) || std::isnan(b)) ? NAN : mn(a, b)));
    REQUIRE(out[l * 7 + 3] == (fbits(a) & 0x7fffffffu));
    REQUIRE(out[l * 7 + 4] == (fbits(a) ^ 0x80000000u));
    REQUIRE(out[l * 7 + 5] == ((fbits(a) & 0x7fffffffu) | (fbits(b) & 0x80000000u)));
    uint32_t t = (std::isfinite(a) ? 1 : 0) | (std::fpclassify(a) == FP_SUBNORMAL ? 2 : 0) | (std::isnan(a) ? 4 : 0);
    REQUIRE(out[l * 7 + 6] == t);
  }
}

TEST_CASE("bit manipulation: prmt modes, shf, lop3, bfe, bfi, bfind, szext, bmsk, fns", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  ld.global.u32 %r2, [%rd4];
  ld.global.u32 %r3, [%rd4+128];
  prmt.b32 %r4, %r2, %r3, 0x8462;
  prmt.b32.f4e %r5, %r2, %r3, %r1;
  prmt.b32.b4e %r6, %r2, %r3, %r1;
  prmt.b32.rc8 %r7, %r2, %r3, %r1;
  prmt.b32.ecl %r8, %r2, %r3, %r1;
  prmt.b32.ecr %r9, %r2, %r3, %r1;
  prmt.b32.rc16 %r10, %r2, %r3, %r1;
  shf.l.clamp.b32 %r11, %r2, %r3, %r1;
  shf.r.wrap.b32 %r12, %r2, %r3, %r1;
  lop3.b32 %r13, %r2, %r3, %r1, 0x96;
  bfe.s32 %r14, %r2, %r1, 9;
  bfi.b32 %r15, %r3, %r2, %r1, 5;
  bfind.shiftamt.u32 %r16, %r3;
  szext.clamp.s32 %r17, %r2, %r1;
  bmsk.wrap.b32 %r18, %r1, 7;
  fns.b32 %r19, %r3, %r1, 2;
  bfe.u32 %r20, %r2, 28, 12;
  bfind.s32 %r21, %r2;
  mul.wide.u32 %rd5, %r1, 80;
  add.s64 %rd6, %rd1, %rd5;
  st.global.v4.u32 [%rd6], {%r4, %r5, %r6, %r7};
  st.global.v4.u32 [%rd6+16], {%r8, %r9, %r10, %r11};
  st.global.v4.u32 [%rd6+32], {%r12, %r13, %r14, %r15};
  st.global.v4.u32 [%rd6+48], {%r16, %r17, %r18, %r19};
  st.global.v2.u32 [%rd6+64], {%r20, %r21};
  ret;)");
  std::vector<uint32_t> in(64);
  for (uint32_t l = 0; l < 32; ++l) {
    in[l] = 0x89abcdefu * (l + 1) ^ (l << 28);
    in[32 + l] = 0x01234567u + l * 0x11111111u;
  }
  auto out = run(ptx, in, 32 * 20);
  static const uint8_t modes[6][4][4] = {
      {{0, 1, 2, 3}, {1, 2, 3, 4}, {2, 3, 4, 5}, {3, 4, 5, 6}}, {{0, 7, 6, 5}, {1, 0, 7, 6}, {2, 1, 0, 7}, {3, 2, 1, 0}},
      {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}}, {{0, 1, 2, 3}, {1, 1, 2, 3}, {2, 2, 2, 3}, {3, 3, 3, 3}},
      {{0, 0, 0, 0}, {0, 1, 1, 1}, {0, 1, 2, 2}, {0, 1, 2, 3}}, {{0, 1, 0, 1}, {2, 3, 2, 3}, {0, 1, 0, 1}, {2, 3, 2, 3}}};
  for (uint32_t l = 0; l < 32; ++l) {
    uint32_t a = in[l], b = in[32 + l];
    INFO("lane " << l);
    uint64_t tmp = uint64_t(a) | uint64_t(b) << 32;
    auto byteAt = [&](uint32_t i) { return uint32_t(tmp >> (8 * i)) & 0xff; };
    uint32_t r = 0;
    for (int k = 0; k < 4; ++k) {
      uint32_t s = (0x8462u >> (4 * k)) & 0xf, v = byteAt(s & 7);
      if (s & 8) v = (v & 0x80) ? 0xff : 0;
      r |= v << (8 * k);
    }
    REQUIRE(out[l * 20 + 0] == r);
    for (int m = 0; m < 6; ++m) {
      uint32_t e = 0;
      for (int k = 0; k < 4; ++k) e |= byteAt(modes[m][l & 3][k]) << (8 * k);
      REQUIRE(out[l * 20 + 1 + m] == e);
    }
    uint32_t n = std::min<uint32_t>(l, 32);
    REQUIRE(out[l * 20 + 7] == uint32_t((tmp << n) >> 32));
    REQUIRE(out[l * 20 + 8] == uint32_t(tmp >> (l & 31)));
    REQUIRE(out[l * 20 + 9] == (a ^ b ^ l));
    uint32_t pos = l, len = 9, field = 0;
    int32_t sbit = int32_t((a >> std::min(pos + len - 1, 31u)) & 1);
    for (uint32_t i = 0; i < 32; ++i) field |= ((i < len && pos + i <= 31) ? ((a >> (pos + i)) & 1) : uint32_t(sbit)) << i;
    REQUIRE(out[l * 20 + 10] == field);
    uint32_t ins = a;
    for (uint32_t i = 0; i < 5 && pos + i <= 31; ++i) ins = (ins & ~(1u << (pos + i))) | (((b >> i) & 1) << (pos + i));
    REQUIRE(out[l * 20 + 11] == ins);
    REQUIRE(out[l * 20 + 12] == (b ? uint32_t(__builtin_clz(b)) : 0xffffffffu));
    uint32_t sz = l == 0 ? 0 : (l >= 32 ? a : ((a & ((1u << l) - 1)) | (((a >> (l - 1)) & 1) ? ~((1u << l) - 1) : 0)));
    REQUIRE(out[l * 20 + 13] == sz);
    REQUIRE(out[l * 20 + 14] == uint32_t(((1ull << 7) - 1) << (l & 31)));
    uint32_t fns = 0xffffffffu, count = 1;
    for (int p = int(l); p < 32; ++p)
      if (b >> p & 1) {
        if (count == 0) {
          fns = uint32_t(p);
          break;
        }
        --count;
      }
    REQUIRE(out[l * 20 + 15] == fns);
    REQUIRE(out[l * 20 + 16] == (a >> 28));
    uint32_t v = int32_t(a) < 0 ? ~a : a;
    REQUIRE(out[l * 20 + 17] == (v ? 31u - uint32_t(__builtin_clz(v)) : 0xffffffffu));
  }
}

TEST_CASE("carry chains: 128-bit addition and subtraction", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  mul.wide.u32 %rd5, %r1, 16;
  add.s64 %rd6, %rd2, %rd5;
  ld.global.v4.u32 {%r2, %r3, %r4, %r5}, [%rd6];
  ld.global.v4.u32 {%r6, %r7, %r8, %r9}, [%rd6+512];
  add.cc.u32 %r10, %r2, %r6;
  addc.cc.u32 %r11, %r3, %r7;
  addc.cc.u32 %r12, %r4, %r8;
  addc.u32 %r13, %r5, %r9;
  sub.cc.u32 %r14, %r2, %r6;
  subc.cc.u32 %r15, %r3, %r7;
  subc.cc.u32 %r16, %r4, %r8;
  subc.u32 %r17, %r5, %r9;
  add.s64 %rd7, %rd1, %rd5;
  add.s64 %rd7, %rd7, %rd5;
  st.global.v4.u32 [%rd7], {%r10, %r11, %r12, %r13};
  st.global.v4.u32 [%rd7+16], {%r14, %r15, %r16, %r17};
  ret;)");
  std::vector<uint32_t> in(256);
  for (uint32_t i = 0; i < 256; ++i) in[i] = (i % 3 == 0) ? 0xffffffffu : 0x9e3779b9u * (i + 1);
  auto out = run(ptx, in, 32 * 8);
  for (uint32_t l = 0; l < 32; ++l) {
    unsigned __int128 a = 0, b = 0;
    for (int k = 3; k >= 0; --k) {
      a = a << 32 | in[l * 4 + k];
      b = b << 32 | in[128 + l * 4 + k];
    }
    unsigned __int128 s = a + b, d = a - b;
    for (int k = 0; k < 4; ++k) {
      REQUIRE(out[l * 8 + k] == uint32_t(s >> (32 * k)));
      REQUIRE(out[l * 8 + 4 + k] == uint32_t(d >> (32 * k)));
    }
  }
}

TEST_CASE("named barriers: producer arrives, consumer waits", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  .shared .align 4 .b8 buf[128];
  mov.u32 %r2, buf;
  and.b32 %r3, %r1, 31;
  shl.b32 %r4, %r3, 2;
  add.u32 %r5, %r2, %r4;
  setp.ge.u32 %p1, %r1, 32;
  @%p1 bra CONSUMER;
  mul.lo.u32 %r6, %r1, 3;
  st.shared.u32 [%r5], %r6;
  bar.arrive 1, 64;
  bra.uni DONE;
CONSUMER:
  bar.sync 1, 64;
  ld.shared.u32 %r7, [%r5];
  add.s64 %rd5, %rd1, %rd3;
  st.global.u32 [%rd5+-128], %r7;
DONE:
  ret;)");
  auto out = run(ptx, {}, 32, {2}, {64});
  for (uint32_t t = 0; t < 32; ++t) REQUIRE(out[t] == t * 3);
}

TEST_CASE("brx.idx jump tables", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  rem.u32 %r2, %r1, 3;
  ts: .branchtargets L0, L1, L2;
  brx.idx %r2, ts;
L0:
  mov.u32 %r3, 10;
  bra.uni J;
L1:
  mov.u32 %r3, 20;
  bra.uni J;
L2:
  mov.u32 %r3, 30;
J:
  add.s64 %rd5, %rd1, %rd3;
  st.global.u32 [%rd5], %r3;
  ret;)");
  auto out = run(ptx, {}, 32);
  for (uint32_t t = 0; t < 32; ++t) REQUIRE(out[t] == 10 * (t % 3 + 1));
}

TEST_CASE(".func calls with divergent returns", "[ptx][snippet]") {
  std::string funcs = R"(
.func (.param .b32 ret) pick(.param .b32 x)
{
  .reg .b32 %a<4>;
  .reg .pred %q;
  ld.param.u32 %a1, [x];
  setp.lt.u32 %q, %a1, 10;
  @%q bra EARLY;
  mul.lo.u32 %a2, %a1, 2;
  st.param.b32 [ret], %a2;
  ret;
EARLY:
  add.u32 %a2, %a1, 1000;
  st.param.b32 [ret], %a2;
  ret;
}
)";
  std::string ptx = module(std::string(kPrologue) + R"(
  {
  .param .b32 p0;
  .param .b32 r0;
  st.param.b32 [p0], %r1;
  call.uni (r0), pick, (p0);
  ld.param.b32 %r2, [r0];
  }
  shfl.sync.idx.b32 %r3, %r2, 12, 31, -1;
  mul.wide.u32 %rd5, %r1, 8;
  add.s64 %rd6, %rd1, %rd5;
  st.global.v2.u32 [%rd6], {%r2, %r3};
  ret;)", ".param .u64 out, .param .u64 in", funcs);
  auto out = run(ptx, {}, 64);
  for (uint32_t t = 0; t < 32; ++t) {
    REQUIRE(out[t * 2] == (t < 10 ? t + 1000 : t * 2));
    REQUIRE(out[t * 2 + 1] == 24u);
  }
}

TEST_CASE("warp votes, match, redux and elect", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  ld.global.u32 %r2, [%rd4];
  and.b32 %r3, %r2, 1;
  setp.ne.u32 %p1, %r3, 0;
  vote.sync.uni.pred %p2, %p1, -1;
  vote.sync.ballot.b32 %r4, %p1, -1;
  selp.u32 %r5, 1, 0, %p2;
  match.any.sync.b32 %r6, %r3, -1;
  redux.sync.xor.b32 %r7, %r2, -1;
  redux.sync.min.s32 %r8, %r2, -1;
  elect.sync %r9|%p3, -1;
  selp.u32 %r10, 1, 0, %p3;
  mul.wide.u32 %rd5, %r1, 28;
  add.s64 %rd6, %rd1, %rd5;
  st.global.u32 [%rd6], %r4;
  st.global.u32 [%rd6+4], %r5;
  st.global.u32 [%rd6+8], %r6;
  st.global.u32 [%rd6+12], %r7;
  st.global.u32 [%rd6+16], %r8;
  st.global.u32 [%rd6+20], %r9;
  st.global.u32 [%rd6+24], %r10;
  ret;)");
  std::vector<uint32_t> in(32);
  for (uint32_t l = 0; l < 32; ++l) in[l] = uint32_t(int32_t(l * 7919 % 97) - 40);
  auto out = run(ptx, in, 32 * 7);
  uint32_t ballot = 0, x = 0;
  int32_t mn = int32_t(in[0]);
  for (uint32_t l = 0; l < 32; ++l) {
    ballot |= (in[l] & 1) << l;
    x ^= in[l];
    mn = std::min(mn, int32_t(in[l]));
  }
  for (uint32_t l = 0; l < 32; ++l) {
    REQUIRE(out[l * 7] == ballot);
    REQUIRE(out[l * 7 + 1] == uint32_t(ballot == 0 || ballot == 0xffffffffu));
    REQUIRE(out[l * 7 + 2] == ((in[l] & 1) ? ballot : ~ballot));
    REQUIRE(out[l * 7 + 3] == x);
    REQUIRE(int32_t(out[l * 7 + 4]) == mn);
    REQUIRE(out[l * 7 + 5] == 0u);
    REQUIRE(out[l * 7 + 6] == (l == 0 ? 1u : 0u));
  }
}

TEST_CASE("generic addressing of local memory and 64-bit shared atomics", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  .local .align 8 .b8 depot[64];
  .shared .align 8 .b8 acc[8];
  .reg .b64 %sp;
  mov.u64 %rd7, depot;
  cvta.local.u64 %sp, %rd7;
  st.u32 [%sp+4], %r1;
  ld.local.u32 %r2, [depot+4];
  isspacep.local %p1, %sp;
  selp.u32 %r3, 1, 0, %p1;
  setp.ne.u32 %p2, %r1, 0;
  @%p2 bra SKIP;
  mov.u64 %rd8, 0;
  st.shared.u64 [acc], %rd8;
SKIP:
  bar.sync 0;
  cvt.u64.u32 %rd9, %r1;
  atom.shared.add.u64 %rd10, [acc], %rd9;
  bar.sync 0;
  ld.shared.u64 %rd11, [acc];
  cvt.u32.u64 %r4, %rd11;
  mul.wide.u32 %rd5, %r1, 16;
  add.s64 %rd6, %rd1, %rd5;
  st.global.v2.u32 [%rd6], {%r2, %r3};
  st.global.u32 [%rd6+8], %r4;
  ret;)");
  auto out = run(ptx, {}, 64 * 4, {1}, {64});
  for (uint32_t t = 0; t < 64; ++t) {
    REQUIRE(out[t * 4] == t);
    REQUIRE(out[t * 4 + 1] == 1u);
    REQUIRE(out[t * 4 + 2] == 64u * 63u / 2u);
  }
}

TEST_CASE("module loading errors", "[ptx][snippet]") {
  Device d;
  modnn_module* m = nullptr;
  SECTION("unknown instruction: the kernel is unsupported and the log names it") {
    std::string ptx = module(std::string(kPrologue) + "  tex.2d.v4.f32.f32 {%f1, %f2, %f3, %f4}, [tex0, {%f5, %f6}];\n  ret;",
                             ".param .u64 out, .param .u64 in", ".global .texref tex0;");
    std::string err = captureStderr([&] { REQUIRE(d.load(ptx, &m) == MODNN_OK); });
    REQUIRE(err.find("tex.2d.v4.f32.f32") != std::string::npos);
    REQUIRE_FALSE(d.supports(m, "k"));
    Params p;
    p.add(uint64_t(0)).add(uint64_t(0));
    REQUIRE(d.launch(m, "k", {1}, {32}, p) == MODNN_ERR_INVALID_PTX);
  }
  SECTION("unknown qualifier") {
    std::string ptx = module(std::string(kPrologue) + "  add.weird.s32 %r2, %r1, 1;\n  ret;");
    std::string err = captureStderr([&] { REQUIRE(d.load(ptx, &m) == MODNN_OK); });
    REQUIRE(err.find("add.weird.s32") != std::string::npos);
    REQUIRE_FALSE(d.supports(m, "k"));
  }
  SECTION("newer PTX ISA") {
    std::string ptx = ".version 9.9\n.target sm_100\n.address_size 64\n.visible .entry k() { ret; }\n";
    REQUIRE(d.load(ptx, &m) == MODNN_ERR_UNSUPPORTED_PTX_VERSION);
  }
  SECTION("syntax error") {
    std::string ptx = ".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry k( { ret; }\n";
    REQUIRE(d.load(ptx, &m) == MODNN_ERR_INVALID_PTX);
  }
  SECTION("recursion is reported, not run") {
    std::string ptx = ".version 8.0\n.target sm_80\n.address_size 64\n"
                      ".func f(.param .b32 x) { .reg .b32 %a; ld.param.u32 %a, [x]; { .param .b32 y; st.param.b32 [y], %a; call.uni f, (y); } ret; }\n"
                      ".visible .entry k() { .reg .b32 %b; mov.u32 %b, 1; { .param .b32 y; st.param.b32 [y], %b; call.uni f, (y); } ret; }\n";
    REQUIRE(d.load(ptx, &m) == MODNN_OK);
    REQUIRE_FALSE(d.supports(m, "k"));
  }
}

TEST_CASE("launch validation", "[ptx][snippet]") {
  Device d;
  std::string ptx = module(std::string(kPrologue) + "  ret;");
  modnn_module* m = d.loadOk(ptx);
  Params shortParams;
  shortParams.add(uint64_t(0));
  REQUIRE(d.launch(m, "k", {1}, {32}, shortParams) == MODNN_ERR_INVALID_VALUE);
  Params p;
  p.add(uint64_t(0)).add(uint64_t(0));
  REQUIRE(d.launch(m, "k", {1}, {2048}, p) == MODNN_ERR_INVALID_CONFIGURATION);
  REQUIRE(d.launch(m, "k", {1}, {32}, p, 1u << 20) == MODNN_ERR_INVALID_CONFIGURATION);
  REQUIRE(d.launch(m, "nope", {1}, {32}, p) == MODNN_ERR_INVALID_FUNCTION);
  REQUIRE(d.launch(m, "k", {1}, {32}, p) == MODNN_OK);
}

TEST_CASE("a block range runs those blocks only, with the whole grid's ids", "[ptx][snippet]") {
  // out[ctaid.x * ntid.x + tid.x] = nctaid.x * 100 + ctaid.x + 1 (x * y blocks of 32 threads)
  std::string ptx = module(R"(
  .reg .b64 %rd<4>;
  .reg .b32 %r<8>;
  ld.param.u64 %rd1, [out];
  mov.u32 %r1, %ctaid.x; mov.u32 %r2, %ntid.x; mov.u32 %r3, %tid.x; mov.u32 %r4, %nctaid.x;
  mov.u32 %r6, %ctaid.y; mad.lo.s32 %r1, %r6, %r4, %r1;
  mad.lo.s32 %r5, %r1, %r2, %r3;
  mul.wide.s32 %rd2, %r5, 4; add.s64 %rd3, %rd1, %rd2;
  mul.lo.s32 %r7, %r4, 100; add.s32 %r7, %r7, %r1; add.s32 %r7, %r7, 1;
  st.global.u32 [%rd3], %r7;
  ret;)");
  Device d;
  modnn_module* m = d.loadOk(ptx);
  uint64_t out = d.alloc(8 * 32 * 4);
  std::vector<uint32_t> zeros(8 * 32, 0);
  d.write(out, zeros.data(), zeros.size() * 4);
  Params p;
  p.add(out).add(uint64_t(0));
  // Linear blocks 3..5 of a 4 x 2 grid: (3,0), (0,1), (1,1).
  REQUIRE(d.launch(m, "k", {4, 2}, {32}, p, 0, 3, 6) == MODNN_OK);
  auto got = d.download<uint32_t>(out, 8 * 32);
  for (uint32_t b = 0; b < 8; ++b)
    for (uint32_t t = 0; t < 32; ++t) {
      INFO("block " << b << " thread " << t);
      CHECK(got[b * 32 + t] == (b >= 3 && b < 6 ? 4 * 100 + b + 1 : 0u));
    }
  REQUIRE(d.launch(m, "k", {4, 2}, {32}, p, 0, 6, 6) == MODNN_ERR_INVALID_CONFIGURATION);
  REQUIRE(d.launch(m, "k", {4, 2}, {32}, p, 0, 2, 9) == MODNN_ERR_INVALID_CONFIGURATION);
}

TEST_CASE("a module loaded twice keeps separate private variables", "[ptx][snippet]") {
  std::string ptx = module(R"(
  .reg .b64 %rd<4>;
  .reg .b32 %r<4>;
  ld.param.u64 %rd1, [out];
  mov.u64 %rd2, counter;
  atom.global.add.u32 %r1, [%rd2], 1;
  st.global.u32 [%rd1], %r1;
  ret;)", ".param .u64 out, .param .u64 in", ".global .align 4 .u32 counter = 5;");
  Device d;
  modnn_module* a = d.loadOk(ptx);
  modnn_module* b = d.loadOk(ptx);
  uint64_t out = d.alloc(4);
  Params p;
  p.add(out).add(uint64_t(0));
  REQUIRE(d.launch(a, "k", {1}, {1}, p) == MODNN_OK);
  REQUIRE(d.download<uint32_t>(out, 1)[0] == 5u);
  REQUIRE(d.launch(a, "k", {1}, {1}, p) == MODNN_OK);
  REQUIRE(d.download<uint32_t>(out, 1)[0] == 6u);
  REQUIRE(d.launch(b, "k", {1}, {1}, p) == MODNN_OK);
  REQUIRE(d.download<uint32_t>(out, 1)[0] == 5u);
}

TEST_CASE("many blocks run in parallel and cover the grid exactly once", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mad.lo.u32 %r4, %r2, %r3, %r1;
  mul.wide.u32 %rd5, %r4, 4;
  add.s64 %rd6, %rd1, %rd5;
  atom.global.add.u32 %r5, [%rd6], 1;
  ret;)");
  auto out = run(ptx, {}, 5000 * 96, {5000}, {96});
  for (uint32_t v : out) REQUIRE(v == 1u);
}

TEST_CASE("special registers", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  mov.u32 %r2, %laneid;
  mov.u32 %r3, %warpid;
  mov.u32 %r4, %lanemask_lt;
  mov.u32 %r5, %lanemask_ge;
  mov.u32 %r6, %nctaid.x;
  mov.u32 %r7, %ctaid.x;
  mov.u32 %r8, %dynamic_smem_size;
  mov.u32 %r9, %smid;
  mov.u32 %r10, %nsmid;
  mov.u32 %r11, %ntid.x;
  mov.u32 %r12, %lanemask_eq;
  mov.u32 %r13, %lanemask_gt;
  mov.u32 %r14, %ctaid.x;
  mad.lo.u32 %r15, %r14, %r11, %r1;
  mul.wide.u32 %rd5, %r15, 64;
  add.s64 %rd6, %rd1, %rd5;
  st.global.v4.u32 [%rd6], {%r1, %r2, %r3, %r4};
  st.global.v4.u32 [%rd6+16], {%r5, %r6, %r7, %r8};
  setp.lt.u32 %p1, %r9, %r10;
  selp.u32 %r16, 1, 0, %p1;
  st.global.v4.u32 [%rd6+32], {%r16, %r11, %r12, %r13};
  ret;)");
  Device d;
  modnn_module* m = d.loadOk(ptx);
  uint64_t out = d.alloc(3 * 96 * 64);
  Params p;
  p.add(out).add(uint64_t(0));
  REQUIRE(d.launch(m, "k", {3}, {96}, p, 4096) == MODNN_OK);
  auto v = d.download<uint32_t>(out, 3 * 96 * 16);
  for (uint32_t b = 0; b < 3; ++b)
    for (uint32_t t = 0; t < 96; ++t) {
      const uint32_t* r = &v[(b * 96 + t) * 16];
      uint32_t lane = t % 32;
      REQUIRE(r[0] == t);
      REQUIRE(r[1] == lane);
      REQUIRE(r[2] == t / 32);
      REQUIRE(r[3] == (1u << lane) - 1);
      REQUIRE(r[4] == ~((1u << lane) - 1));
      REQUIRE(r[5] == 3u);
      REQUIRE(r[6] == b);
      REQUIRE(r[7] == 4096u);
      REQUIRE(r[8] == 1u);
      REQUIRE(r[9] == 96u);
      REQUIRE(r[10] == 1u << lane);
      REQUIRE(r[11] == (lane == 31 ? 0u : ~((2u << lane) - 1)));
    }
}

TEST_CASE("approximate math within PTX's stated error", "[ptx][snippet]") {
  std::string ptx = module(std::string(kPrologue) + R"(
  ld.global.f32 %f1, [%rd4];
  ex2.approx.f32 %f2, %f1;
  lg2.approx.f32 %f3, %f1;
  rcp.approx.f32 %f4, %f1;
  rsqrt.approx.f32 %f5, %f1;
  sqrt.approx.f32 %f6, %f1;
  sin.approx.f32 %f7, %f1;
  cos.approx.f32 %f8, %f1;
  tanh.approx.f32 %f9, %f1;
  div.approx.f32 %f10, 0f3F800000, %f1;
  ex2.approx.ftz.f32 %f11, %f1;
  mul.wide.u32 %rd5, %r1, 48;
  add.s64 %rd6, %rd1, %rd5;
  st.global.v4.f32 [%rd6], {%f2, %f3, %f4, %f5};
  st.global.v4.f32 [%rd6+16], {%f6, %f7, %f8, %f9};
  st.global.v2.f32 [%rd6+32], {%f10, %f11};
  ret;)");
  std::vector<uint32_t> in(32);
  std::vector<float> xs(32);
  for (int i = 0; i < 32; ++i) {
    xs[i] = 0.05f + 0.0971f * float(i);
    in[i] = fbits(xs[i]);
  }
  auto out = run(ptx, in, 32 * 12);
  for (int i = 0; i < 32; ++i) {
    double x = xs[i];
    const float* r = reinterpret_cast<const float*>(&out[i * 12]);
    auto relErr = [](double got, double want) { return std::fabs(got - want) / std::fabs(want); };
    INFO("x " << x);
    REQUIRE(relErr(r[0], std::exp2(x)) <= std::ldexp(1.0, -22));
    REQUIRE(std::fabs(r[1] - std::log2(x)) <= std::ldexp(1.0, -22));
    REQUIRE(relErr(r[2], 1 / x) <= std::ldexp(1.0, -23));
    REQUIRE(relErr(r[3], 1 / std::sqrt(x)) <= std::ldexp(1.0, -22.9));
    REQUIRE(relErr(r[4], std::sqrt(x)) <= std::ldexp(1.0, -23));
    REQUIRE(std::fabs(r[5] - std::sin(x)) <= std::ldexp(1.0, -20.5));
    REQUIRE(std::fabs(r[6] - std::cos(x)) <= std::ldexp(1.0, -20.5));
    REQUIRE(relErr(r[7], std::tanh(x)) <= std::ldexp(1.0, -10.987));
    REQUIRE(relErr(r[8], 1 / x) <= std::ldexp(1.0, -22));
    REQUIRE(relErr(r[9], std::exp2(x)) <= std::ldexp(1.0, -22));
  }
}
