// CurveZMQ key pairs and the files they live in.
//
// A key is 32 bytes, written as 40 Z85 characters. Key files use ZeroMQ's
// certificate text format (CZMQ's zcert), so `zcert`-made files work too:
//
//   # comment lines
//   metadata
//       name = "w0"
//   curve
//       public-key = "Z85..."
//       secret-key = "Z85..."     (only in NAME.key_secret, mode 0600)
//
// An allow-list is either a directory (every NAME.key file in it is read;
// NAME.key_secret files are skipped) or one text file with one Z85 public
// key per line; blank lines and lines starting with '#' are ignored, and a
// key may be followed by blanks and a '#' comment (Z85 itself uses '#').
#pragma once
#include <set>
#include <string>

#include "interpose/core/result.h"

namespace moai {

constexpr size_t kCurveKeyChars = 40;  // Z85 of 32 bytes

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85; "" when only the public half is known
};

// A fresh pair from libzmq (libsodium underneath).
Result<CurveKeyPair> generateCurveKeyPair();
// True if `key` is 40 Z85 characters that decode to 32 bytes.
bool isCurveKey(const std::string& key);

// Writes DIR/NAME.key (public, 0644) and DIR/NAME.key_secret (both halves,
// 0600). Refuses to overwrite either file.
Result<bool> writeCurveKeyFiles(const std::string& dir, const std::string& name, const CurveKeyPair& pair);
// A NAME.key_secret file. Refused when group or others may read it, and when
// its public key does not belong to its secret key.
Result<CurveKeyPair> readCurveSecretKeyFile(const std::string& path);
// The public key of a NAME.key or NAME.key_secret file.
Result<std::string> readCurvePublicKeyFile(const std::string& path);
// The public keys of an allow-list (see above). Any unreadable file or bad
// line is an error naming the file and line; an empty list is an error too.
Result<std::set<std::string>> loadCurveAllowList(const std::string& path);

// `moai keygen DIR NAME`: makes a pair, writes its files, prints where and
// the public key. Returns the process exit code (0 ok, 1 failure).
int runKeygen(const std::string& dir, const std::string& name);

}  // namespace moai
