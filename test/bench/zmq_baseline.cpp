// The baseline for remote bandwidth: plain ZeroMQ moving the same bytes
// between two processes in the same chunks MoAI uses, receiver acking the
// end. Prints RESULT zmq_gbps=... for the endpoint given.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <zmq.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: zmq_baseline ENDPOINT [BYTES] [REPS]\n");
    return 2;
  }
  std::string endpoint = argv[1];
  size_t bytes = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : (256u << 20);
  int reps = argc > 3 ? std::atoi(argv[3]) : 3;
  const size_t chunk = 8u << 20;
  pid_t child = fork();
  if (child == 0) {
    bool ok = true;
    {
      // Leaving this scope closes the context, which waits until the last
      // ack is on the wire; _exit alone would drop it.
      zmq::context_t ctx;
      zmq::socket_t pull(ctx, zmq::socket_type::pair);
      pull.connect(endpoint);
      for (int r = 0; r < reps && ok; ++r) {
        size_t got = 0;
        while (ok && got < bytes) {
          zmq::message_t m;
          ok = pull.recv(m).has_value();
          got += m.size();
        }
        pull.send(zmq::str_buffer("ack"));
      }
    }
    _exit(ok ? 0 : 1);
  }
  zmq::context_t ctx;
  zmq::socket_t push(ctx, zmq::socket_type::pair);
  push.bind(endpoint);
  std::vector<char> data(bytes, 1);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (size_t off = 0; off < bytes; off += chunk)
      push.send(zmq::buffer(data.data() + off, std::min(chunk, bytes - off)));
    zmq::message_t ack;
    (void)push.recv(ack);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  int status = 0;
  waitpid(child, &status, 0);
  std::printf("RESULT zmq_gbps=%.3f\n", bytes / best / 1e9);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
