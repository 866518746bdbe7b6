#include "modnn/remote/client_keys.h"

#include <cstdlib>

#include "interpose/core/log.h"

namespace moai::remote {

Result<std::string> schedulerCurveKey() {
  static const Result<std::string> key = []() -> Result<std::string> {
    const char* path = std::getenv("MOAI_SCHEDULER_KEY");
    if (!path || !*path) {
      log().warn("MOAI_SCHEDULER_KEY is not set: the link to the scheduler is neither authenticated nor encrypted");
      return std::string();
    }
    return readCurvePublicKeyFile(path);
  }();
  return key;
}

Result<CurveKeyPair> clientCurveKeyPair() {
  static const Result<CurveKeyPair> pair = []() -> Result<CurveKeyPair> {
    const char* path = std::getenv("MOAI_KEY");
    if (path && *path) return readCurveSecretKeyFile(path);
    log().info("MOAI_KEY is not set: this client uses a key pair made for this process");
    return generateCurveKeyPair();
  }();
  return pair;
}

}  // namespace moai::remote
