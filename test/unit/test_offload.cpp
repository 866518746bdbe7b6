// Residency (offload.h) on a fake device that holds a fixed number of bytes
// and counts what crosses to and from it: which allocations are evicted
// (least recently used, never what an op needs or what is pinned), when
// bytes are read back (only dirty ones), and that bytes survive the trips.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "interpose/core/offload.h"

using namespace moai;

namespace {

constexpr uint64_t kUnit = 4096;

struct FakeBuffer {
  uint64_t va;
  std::vector<uint8_t> bytes;
};

// A device with `capacity` bytes; buffers are host vectors.
struct FakeDevice {
  uint64_t capacity = 0, used = 0;
  int allocs = 0, failed_allocs = 0, frees = 0, reads = 0, writes = 0;
  std::map<uint64_t, FakeBuffer*> by_va;
  std::mutex mu;

  static FakeDevice* of(void* ctx) { return static_cast<FakeDevice*>(ctx); }
  static FakeBuffer* buf(modnn_buffer* b) { return reinterpret_cast<FakeBuffer*>(b); }

  static void props(void* ctx, modnn_device_props* out) { out->total_memory = of(ctx)->capacity; }
  static modnn_status alloc(void* ctx, uint64_t va, uint64_t size, modnn_buffer** out) {
    FakeDevice* d = of(ctx);
    std::lock_guard<std::mutex> lock(d->mu);
    if (d->used + size > d->capacity) {
      ++d->failed_allocs;
      return MODNN_ERR_OUT_OF_MEMORY;
    }
    d->used += size;
    ++d->allocs;
    auto* b = new FakeBuffer{va, std::vector<uint8_t>(size, 0)};
    d->by_va[va] = b;
    *out = reinterpret_cast<modnn_buffer*>(b);
    return MODNN_OK;
  }
  static void free(void* ctx, modnn_buffer* b) {
    FakeDevice* d = of(ctx);
    std::lock_guard<std::mutex> lock(d->mu);
    d->used -= buf(b)->bytes.size();
    ++d->frees;
    d->by_va.erase(buf(b)->va);
    delete buf(b);
  }
  static modnn_status write(void* ctx, modnn_buffer* b, uint64_t off, const void* src, uint64_t n) {
    ++of(ctx)->writes;
    std::memcpy(buf(b)->bytes.data() + off, src, n);
    return MODNN_OK;
  }
  static modnn_status read(void* ctx, modnn_buffer* b, uint64_t off, void* dst, uint64_t n) {
    ++of(ctx)->reads;
    std::memcpy(dst, buf(b)->bytes.data() + off, n);
    return MODNN_OK;
  }

  // What a kernel would do: write straight into the device copy.
  void scribble(uint64_t va, uint8_t value) {
    std::lock_guard<std::mutex> lock(mu);
    auto& v = by_va.at(va)->bytes;
    std::fill(v.begin(), v.end(), value);
  }
  bool holds(uint64_t va) {
    std::lock_guard<std::mutex> lock(mu);
    return by_va.count(va) > 0;
  }
};

const modnn_device_i kFakeIface = [] {
  modnn_device_i i{};
  i.struct_size = sizeof i;
  i.get_props = FakeDevice::props;
  i.buffer_alloc = FakeDevice::alloc;
  i.buffer_free = FakeDevice::free;
  i.buffer_write = FakeDevice::write;
  i.buffer_read = FakeDevice::read;
  return i;
}();

struct Fixture {
  explicit Fixture(uint64_t units) {
    fake.capacity = units * kUnit;
    device = modnn_device{&kFakeIface, &fake};
    residency = std::make_unique<Residency>(&device);
  }
  ~Fixture() {
    allocs.clear();  // before the residency they belong to
  }
  // A managed allocation of one unit at a fresh address.
  std::shared_ptr<Allocation> add(uint64_t units = 1) {
    auto a = std::make_shared<Allocation>();
    a->base = next;
    a->size = units * kUnit;
    next += units * kUnit + kUnit;
    REQUIRE(residency->allocate(*a) == MODNN_OK);
    allocs.push_back(a);
    return a;
  }
  modnn_status use(std::initializer_list<Allocation*> list, bool write = false) {
    std::vector<Residency::Need> needs;
    for (Allocation* a : list) needs.push_back({a, write});
    Residency::Pins pins;
    return residency->acquire(needs, &pins);
  }
  // Bytes of `a` as a host-side read (D2H) sees them.
  std::vector<uint8_t> bytesOf(Allocation& a) {
    std::vector<uint8_t> out(a.size);
    Endpoint e;
    e.alloc = allocs_by(a);
    Residency::Pins pins;
    REQUIRE(residency->resolve(e, false, &pins) == MODNN_OK);
    if (e.alloc)
      FakeDevice::read(&fake, e.alloc->buffer, 0, out.data(), a.size);
    else
      std::memcpy(out.data(), e.host, a.size);
    return out;
  }
  std::shared_ptr<Allocation> allocs_by(Allocation& a) {
    for (auto& p : allocs)
      if (p.get() == &a) return p;
    return nullptr;
  }

  FakeDevice fake;
  modnn_device device{};
  std::unique_ptr<Residency> residency;
  std::vector<std::shared_ptr<Allocation>> allocs;
  uint64_t next = 1ull << 40;
};

}  // namespace

TEST_CASE("allocations beyond the device's memory start in host memory") {
  Fixture f(2);
  auto a = f.add(), b = f.add(), c = f.add();
  CHECK(a->buffer);
  CHECK(b->buffer);
  CHECK_FALSE(c->buffer);  // no eviction at allocation time
  CHECK(c->residency == f.residency.get());
  auto s = f.residency->stats();
  CHECK(s.resident_bytes == 2 * kUnit);
  CHECK(s.host_only_bytes == kUnit);
  CHECK(s.evictions == 0);
}

TEST_CASE("an op's allocations come in; the least recently used other one goes out") {
  Fixture f(2);
  auto a = f.add(), b = f.add(), c = f.add();
  REQUIRE(f.use({a.get()}) == MODNN_OK);  // a is now more recent than b
  REQUIRE(f.use({c.get()}) == MODNN_OK);
  CHECK(c->buffer);
  CHECK(a->buffer);
  CHECK_FALSE(b->buffer);
  CHECK(f.fake.reads == 0);  // b was never written: nothing to read back
  REQUIRE(f.use({b.get(), c.get()}) == MODNN_OK);
  CHECK(b->buffer);
  CHECK(c->buffer);
  CHECK_FALSE(a->buffer);
  CHECK(f.residency->stats().evictions == 2);
}

TEST_CASE("dirty allocations are read back on eviction and their bytes come back") {
  Fixture f(1);
  auto a = f.add(), b = f.add();
  REQUIRE(f.use({a.get()}, /*write=*/true) == MODNN_OK);
  f.fake.scribble(a->base, 0x5a);  // the op wrote it on the device
  REQUIRE(f.use({b.get()}) == MODNN_OK);
  CHECK_FALSE(a->buffer);
  CHECK(f.fake.reads == 1);
  CHECK(f.bytesOf(*a) == std::vector<uint8_t>(kUnit, 0x5a));  // read from the host copy
  REQUIRE(f.use({a.get()}) == MODNN_OK);                        // back in: written to the device
  CHECK(f.fake.writes == 1);
  CHECK(f.bytesOf(*a) == std::vector<uint8_t>(kUnit, 0x5a));  // read from the device
  // Only read since it came back: evicting it again reads nothing.
  int reads = f.fake.reads;
  REQUIRE(f.use({b.get()}) == MODNN_OK);
  CHECK(f.fake.reads == reads);
  CHECK(f.bytesOf(*a) == std::vector<uint8_t>(kUnit, 0x5a));
}

TEST_CASE("copies and fills use the host copy of a non-resident allocation") {
  Fixture f(1);
  auto a = f.add(), b = f.add();
  REQUIRE_FALSE(b->buffer);
  Endpoint e;
  e.alloc = b;
  e.offset = 16;
  {
    Residency::Pins pins;
    REQUIRE(f.residency->resolve(e, true, &pins) == MODNN_OK);
    REQUIRE_FALSE(e.alloc);
    std::memset(e.host, 7, 8);  // an H2D copy into b at offset 16
  }
  CHECK(f.fake.writes == 0);
  REQUIRE(f.use({b.get()}) == MODNN_OK);
  auto bytes = f.bytesOf(*b);
  CHECK(bytes[15] == 0);
  CHECK(bytes[16] == 7);
  CHECK(bytes[23] == 7);
  // A copy into a resident allocation goes to the device and makes it dirty.
  Endpoint r;
  r.alloc = b;
  {
    Residency::Pins pins;
    REQUIRE(f.residency->resolve(r, true, &pins) == MODNN_OK);
    CHECK(r.alloc == b);
  }
  int reads = f.fake.reads;
  REQUIRE(f.use({a.get()}) == MODNN_OK);
  CHECK(f.fake.reads == reads + 1);
}

TEST_CASE("what an op needs or what is pinned is never evicted") {
  Fixture f(2);
  auto a = f.add(), b = f.add(), c = f.add();
  // An op needing three units on a two-unit device fails, and says why.
  CHECK(f.use({a.get(), b.get(), c.get()}) == MODNN_ERR_OUT_OF_MEMORY);
  // a is held by a running op; c must push out b even though a is older.
  Residency::Pins held;
  REQUIRE(f.residency->acquire({{a.get(), false}}, &held) == MODNN_OK);
  REQUIRE(f.use({b.get()}) == MODNN_OK);
  REQUIRE(f.use({c.get()}) == MODNN_OK);
  CHECK(a->buffer);
  CHECK(c->buffer);
  CHECK_FALSE(b->buffer);
}

TEST_CASE("an op waits for room held by another op's pins") {
  Fixture f(2);
  auto a = f.add(), b = f.add(), c = f.add();
  auto held = std::make_unique<Residency::Pins>();
  REQUIRE(f.residency->acquire({{a.get(), false}, {b.get(), false}}, held.get()) == MODNN_OK);
  std::atomic<bool> done{false};
  modnn_status st = MODNN_ERR_UNKNOWN;
  std::thread t([&] {
    st = f.use({c.get()});
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(done);  // no room until the pins go
  held.reset();
  t.join();
  CHECK(st == MODNN_OK);
  CHECK(c->buffer);
}

TEST_CASE("fixed allocations make room; freed allocations release everything") {
  Fixture f(2);
  auto a = f.add(), b = f.add();
  modnn_buffer* fixed = nullptr;
  REQUIRE(f.residency->allocateFixed(1ull << 20, kUnit, &fixed) == MODNN_OK);
  CHECK(f.residency->stats().evictions == 1);
  FakeDevice::free(&f.fake, fixed);
  uint64_t used = f.fake.used;
  CHECK(used == kUnit);
  a.reset();
  b.reset();
  f.allocs.clear();  // cudaFree of both
  CHECK(f.fake.used == 0);
  auto s = f.residency->stats();
  CHECK(s.resident_bytes == 0);
  CHECK(s.host_only_bytes == 0);
}

TEST_CASE("what an op writes: GEMM output, BLAS results, every kernel operand") {
  auto a = std::make_shared<Allocation>(), b = std::make_shared<Allocation>(), d = std::make_shared<Allocation>();
  a->base = 0x1000, b->base = 0x2000, d->base = 0x3000;
  a->size = b->size = d->size = 0x100;
  ModnnOp gemm;
  gemm.op.kind = MODNN_OP_GEMM;
  gemm.op.u.gemm.a = 0x1000;
  gemm.op.u.gemm.b = 0x2010;
  gemm.op.u.gemm.d = 0x3020;
  gemm.keep_alive = {a, b, d};
  auto needs = Residency::needsOf(gemm);
  REQUIRE(needs.size() == 3);
  CHECK_FALSE(needs[0].write);
  CHECK_FALSE(needs[1].write);
  CHECK(needs[2].write);

  ModnnOp axpy;
  axpy.op.kind = MODNN_OP_BLAS;
  axpy.op.u.blas.fn = MODNN_BLAS_AXPY;
  axpy.op.u.blas.x = 0x1000;
  axpy.op.u.blas.y = 0x2000;
  axpy.keep_alive = {a, b};
  needs = Residency::needsOf(axpy);
  CHECK_FALSE(needs[0].write);
  CHECK(needs[1].write);

  LaunchOp kernel;
  kernel.keep_alive = {a, b};
  for (const auto& n : Residency::needsOf(kernel)) CHECK(n.write);
}
