#include "modnn/remote/client_keys.h"

#include <cstdlib>

#include "interpose/core/log.h"

namespace moai::remote {

// Both are leaked: leases are released from exit handlers, after static
// destructors may have run.
Result<std::string> schedulerCurveKey() {
  static const auto* key = new Result<std::string>([]() -> Result<std::string> {
    const char* path = std::getenv("MOAI_SCHEDULER_KEY");
    if (!path || !*path) {
      log().warn("MOAI_SCHEDULER_KEY is not set: the link to the scheduler is neither authenticated nor encrypted");
      return std::string();
    }
    return readCurvePublicKeyFile(path);
  }());
  return *key;
}

Result<CurveKeyPair> clientCurveKeyPair() {
  static const auto* pair = new Result<CurveKeyPair>([]() -> Result<CurveKeyPair> {
    const char* path = std::getenv("MOAI_KEY");
    if (path && *path) return readCurveSecretKeyFile(path);
    log().info("MOAI_KEY is not set: this client uses a key pair made for this process");
    return generateCurveKeyPair();
  }());
  return *pair;
}

}  // namespace moai::remote
