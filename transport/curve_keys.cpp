#include "transport/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace moai {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxKeyFileBytes = 64 << 10;
constexpr size_t kMaxAllowListFiles = 100000;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

Result<std::string> readSmallFile(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return makeError(MODNN_ERR_INVALID_VALUE, path + ": not a readable file");
  if (fs::file_size(path, ec) > kMaxKeyFileBytes)
    return makeError(MODNN_ERR_INVALID_VALUE, path + ": too large for a key file");
  std::ifstream in(path);
  if (!in) return makeError(MODNN_ERR_INVALID_VALUE, path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The `public-key` and `secret-key` values of a zcert text; other settings
// (metadata) and section lines are ignored.
Result<std::map<std::string, std::string>> parseCertificate(const std::string& path, const std::string& text) {
  std::map<std::string, std::string> keys;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;  // a section name: metadata, curve
    std::string name = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (name != "public-key" && name != "secret-key") continue;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    std::string where = path + ":" + std::to_string(number) + ": ";
    if (!isCurveKey(value)) return makeError(MODNN_ERR_INVALID_VALUE, where + name + " is not a 40-character Z85 key");
    if (!keys.emplace(name, value).second) return makeError(MODNN_ERR_INVALID_VALUE, where + name + " given twice");
  }
  return keys;
}

bool writeFile(const std::string& path, const std::string& text, mode_t mode) {
  // O_EXCL: never overwrite, never follow a planted link.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return false;
  bool ok = ::fchmod(fd, mode) == 0 && ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok) ::unlink(path.c_str());
  return ok;
}

std::string certificate(const std::string& name, const CurveKeyPair& pair, bool with_secret) {
  std::string out = with_secret ? "#   ****  MoAI CurveZMQ secret key: keep it private (mode 0600)  ****\n"
                                : "#   ****  MoAI CurveZMQ public key  ****\n";
  out += "#   made by moai keygen; ZeroMQ certificate format (zcert)\n";
  out += "metadata\n    name = \"" + name + "\"\ncurve\n    public-key = \"" + pair.public_key + "\"\n";
  if (with_secret) out += "    secret-key = \"" + pair.secret_key + "\"\n";
  return out;
}

Result<std::set<std::string>> allowListFile(const std::string& path, std::set<std::string> keys) {
  auto text = readSmallFile(path);
  if (!text) return text.error();
  std::istringstream lines(*text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    // Z85 keys may contain '#': a comment starts a line or follows the key after blanks.
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::string rest = trim(line.substr(std::min(line.size(), line.find_first_of(" \t"))));
    if (rest.empty() || rest[0] == '#') line = line.substr(0, line.find_first_of(" \t"));
    if (!isCurveKey(line))
      return makeError(MODNN_ERR_INVALID_VALUE,
                       path + ":" + std::to_string(number) + ": expected one 40-character Z85 public key, got '" +
                           line.substr(0, 60) + "'");
    keys.insert(line);
  }
  return keys;
}

Result<std::set<std::string>> allowListDirectory(const std::string& dir) {
  std::set<std::string> keys;
  std::error_code ec;
  size_t files = 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() != ".key") continue;  // skips NAME.key_secret
    if (++files > kMaxAllowListFiles) return makeError(MODNN_ERR_INVALID_VALUE, dir + ": too many key files");
    auto key = readCurvePublicKeyFile(it->path().string());
    if (!key) return key.error();
    keys.insert(*key);
  }
  if (ec) return makeError(MODNN_ERR_INVALID_VALUE, dir + ": " + ec.message());
  return keys;
}

}  // namespace

bool isCurveKey(const std::string& key) {
  if (key.size() != kCurveKeyChars) return false;
  std::array<uint8_t, 32> bytes;
  return zmq_z85_decode(bytes.data(), key.c_str()) != nullptr;
}

Result<CurveKeyPair> generateCurveKeyPair() {
  std::array<char, kCurveKeyChars + 1> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0)
    return makeError(MODNN_ERR_NOT_SUPPORTED, std::string("zmq_curve_keypair: ") + zmq_strerror(zmq_errno()) +
                                                  " (libzmq built without CURVE?)");
  return CurveKeyPair{pub.data(), sec.data()};
}

Result<bool> writeCurveKeyFiles(const std::string& dir, const std::string& name, const CurveKeyPair& pair) {
  if (name.empty() || name.find('/') != std::string::npos || name.find('"') != std::string::npos || name[0] == '.')
    return makeError(MODNN_ERR_INVALID_VALUE, "key name '" + name + "' must be a plain file name");
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string base = (fs::path(dir) / name).string();
  for (const std::string& path : {base + ".key", base + ".key_secret"})
    if (fs::exists(fs::symlink_status(path, ec))) return makeError(MODNN_ERR_INVALID_VALUE, path + " exists: not overwritten");
  if (!writeFile(base + ".key_secret", certificate(name, pair, true), 0600))
    return makeError(MODNN_ERR_INVALID_VALUE, "cannot write " + base + ".key_secret: " + std::strerror(errno));
  if (!writeFile(base + ".key", certificate(name, pair, false), 0644))
    return makeError(MODNN_ERR_INVALID_VALUE, "cannot write " + base + ".key: " + std::strerror(errno));
  return true;
}

Result<CurveKeyPair> readCurveSecretKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return makeError(MODNN_ERR_INVALID_VALUE, path + ": " + std::strerror(errno));
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return makeError(MODNN_ERR_NOT_PERMITTED, path + ": a secret key file others may open (mode " + mode +
                                                  "); run chmod 600 " + path);
  }
  auto text = readSmallFile(path);
  if (!text) return text.error();
  auto keys = parseCertificate(path, *text);
  if (!keys) return keys.error();
  if (!keys->count("secret-key")) return makeError(MODNN_ERR_INVALID_VALUE, path + ": no secret-key (a public key file?)");
  CurveKeyPair pair{"", keys->at("secret-key")};
  std::array<char, kCurveKeyChars + 1> derived{};
  if (zmq_curve_public(derived.data(), pair.secret_key.c_str()) != 0)
    return makeError(MODNN_ERR_INVALID_VALUE, path + ": cannot derive the public key");
  pair.public_key = derived.data();
  if (keys->count("public-key") && keys->at("public-key") != pair.public_key)
    return makeError(MODNN_ERR_INVALID_VALUE, path + ": public-key does not belong to secret-key");
  return pair;
}

Result<std::string> readCurvePublicKeyFile(const std::string& path) {
  auto text = readSmallFile(path);
  if (!text) return text.error();
  auto keys = parseCertificate(path, *text);
  if (!keys) return keys.error();
  if (!keys->count("public-key")) return makeError(MODNN_ERR_INVALID_VALUE, path + ": no public-key");
  return keys->at("public-key");
}

Result<std::set<std::string>> loadCurveAllowList(const std::string& path) {
  std::error_code ec;
  auto keys = fs::is_directory(path, ec) ? allowListDirectory(path) : allowListFile(path, {});
  if (keys && keys->empty())
    return makeError(MODNN_ERR_INVALID_VALUE, path + ": no public keys (nobody could connect)");
  return keys;
}

int runKeygen(const std::string& dir, const std::string& name) {
  auto pair = generateCurveKeyPair();
  if (!pair) {
    std::fprintf(stderr, "moai keygen: %s\n", pair.error().message.c_str());
    return 1;
  }
  auto written = writeCurveKeyFiles(dir, name, *pair);
  if (!written) {
    std::fprintf(stderr, "moai keygen: %s\n", written.error().message.c_str());
    return 1;
  }
  std::string base = (fs::path(dir) / name).string();
  std::printf("public key  %s.key\nsecret key  %s.key_secret (mode 0600)\n%s\n", base.c_str(), base.c_str(),
              pair->public_key.c_str());
  return 0;
}

}  // namespace moai
