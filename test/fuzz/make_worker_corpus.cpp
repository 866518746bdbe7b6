// Writes the seed corpus of fuzz_worker_messages: one valid frame of each
// message kind, both directions. Run it when the schema changes:
//   make_worker_corpus test/fuzz/corpus/worker
#include <cstdio>
#include <fstream>
#include <string>

#include "schemas/worker_messages.h"

using namespace moai::wire;

namespace {

void write(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  // Leading 0: the whole input is the message (see the target's framing).
  std::ofstream f(dir + "/" + name + ".bin", std::ios::binary);
  f.put(0);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

Command cmd(decltype(Command::body) body) {
  Command c;
  c.body = std::move(body);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_worker_corpus DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  write(dir, "hello", encodeHello(HelloMsg{moai::schema::PROTOCOL_VERSION, 7, std::string(64, 'a'), "/moai-1-abc", 1 << 20}));
  static const uint8_t bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  WriteCmd w;
  w.va = 0x10000;
  w.bytes = bytes;
  LaunchCmd l;
  l.module = 1;
  l.kernel = "_Z6kernelPf";
  l.params = bytes;
  modnn_gemm g{};
  g.struct_size = sizeof g;
  g.m = g.n = g.k = 4;
  g.lda = g.ldb = g.ldc = g.ldd = 4;
  g.batch = 1;
  g.alpha[0] = 1;
  modnn_blas b{};
  b.struct_size = sizeof b;
  b.fn = MODNN_BLAS_AXPY;
  b.n = 4;
  b.incx = b.incy = 1;
  ModuleLoadCmd load{42, 1, {SymbolEntry{"counter", 0x20000, 4}}};
  std::vector<Command> all = {cmd(AllocCmd{0x10000, 256}), cmd(w), cmd(CopyCmd{0x10000, 0x10080, 16}),
                              cmd(FillCmd{0x10000, 4, 7, 4}), cmd(ModuleUploadCmd{42, bytes, ".version 8.0"}),
                              cmd(load), cmd(l), cmd(GemmCmd{g}), cmd(BlasCmd{b}), cmd(RecordEventCmd{9}),
                              cmd(CopyToPeerCmd{0x10000, 16, {"tcp://127.0.0.1:5000"}, 1, 0x10000, std::string(40, 'k')}),
                              cmd(CopyToPeerCmd{0x10000, 16, {"tcp://127.0.0.1:5000"}, 1, 0x10000, "", 7}),
                              cmd(AwaitPeerCmd{7, 0x10000, 16, 1000, {"tcp://127.0.0.1:5001", "ipc:///tmp/w.sock"}}),
                              cmd(FreeCmd{0x10000})};
  write(dir, "commands", encodeCommands(all));
  RequestMsg r;
  r.id = 3;
  r.body = ReadReq{0x10000, 16};
  write(dir, "read", encodeRequest(r));
  r.body = SupportsGemmReq{g};
  write(dir, "supports_gemm", encodeRequest(r));
  r.body = SupportsKernelReq{1, "_Z6kernelPf"};
  write(dir, "supports_kernel", encodeRequest(r));
  r.body = QueryEventReq{9, false};
  write(dir, "query_event", encodeRequest(r));
  r.body = ReserveRangeReq{1ull << 44, 1ull << 40};
  write(dir, "reserve_range", encodeRequest(r));
  write(dir, "reserved", encodeWorkerMessage(3, ReservedMsg{1ull << 44}));
  write(dir, "bye", encodeBye());
  write(dir, "peer_bytes_failed", encodePeerBytes(PeerBytesMsg{7, 0, 0x10000, {}, true, "no source"}));
  write(dir, "peer_bytes_shm", encodePeerBytes(PeerBytesMsg{7, 0, 0x10000, {}, false, "", true, 4096, 16}));
  write(dir, "data", encodeWorkerMessage(3, DataMsg{bytes}));
  write(dir, "error", encodeWorkerMessage(3, ErrorMsg{1, "invalid argument"}));
  write(dir, "done", encodeWorkerMessage(3, DoneMsg{123456789}));
  modnn_device_props p{};
  p.struct_size = sizeof p;
  std::snprintf(p.name, sizeof p.name, "CPU 0");
  std::snprintf(p.kind, sizeof p.kind, "cpu");
  p.multiprocessor_count = 2;
  p.max_threads_per_block = 1024;
  write(dir, "hello_ok", encodeWorkerMessage(0, HelloOkMsg{{p}}));
  return 0;
}
