// moai-keygen DIR NAME: a CurveZMQ key pair for a scheduler, worker or
// client (transport/curve_keys.h). Stands in until `moai keygen` calls
// runKeygen itself.
#include <CLI/CLI.hpp>

#include "transport/curve_keys.h"

int main(int argc, char** argv) {
  std::string dir = ".", name;
  CLI::App app{"moai-keygen: writes DIR/NAME.key (public) and DIR/NAME.key_secret (mode 0600)", "moai-keygen"};
  app.add_option("dir", dir, "directory for the two files (made if missing)")->required();
  app.add_option("name", name, "name of the key, e.g. the host or user it is for")->required();
  CLI11_PARSE(app, argc, argv);
  return moai::runKeygen(dir, name);
}
