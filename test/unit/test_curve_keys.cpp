// Key files and allow-lists (transport/curve_keys.h): what keygen writes
// reads back, and every malformed file is refused with its name and line.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "transport/curve_keys.h"

using namespace moai;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/moai-keys-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    std::string p = (path / name).string();
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }
};

bool mentions(const Error& e, const std::string& what) { return e.message.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("keygen files read back as the same pair, with the modes promised") {
  TempDir dir;
  auto pair = generateCurveKeyPair();
  REQUIRE(pair.ok());
  CHECK(isCurveKey(pair->public_key));
  CHECK(isCurveKey(pair->secret_key));
  REQUIRE(writeCurveKeyFiles(dir.path.string(), "w0", *pair).ok());

  struct stat st {};
  REQUIRE(stat((dir.path / "w0.key_secret").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(stat((dir.path / "w0.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);

  auto secret = readCurveSecretKeyFile((dir.path / "w0.key_secret").string());
  REQUIRE(secret.ok());
  CHECK(secret->public_key == pair->public_key);
  CHECK(secret->secret_key == pair->secret_key);
  auto pub = readCurvePublicKeyFile((dir.path / "w0.key").string());
  REQUIRE(pub.ok());
  CHECK(*pub == pair->public_key);

  // Never overwritten.
  auto again = writeCurveKeyFiles(dir.path.string(), "w0", generateCurveKeyPair().value());
  REQUIRE(!again.ok());
  CHECK(mentions(again.error(), "exists"));
  CHECK(readCurvePublicKeyFile((dir.path / "w0.key").string()).value() == pair->public_key);
  CHECK(!writeCurveKeyFiles(dir.path.string(), "../evil", *pair).ok());
}

TEST_CASE("runKeygen writes both files and fails on an existing name") {
  TempDir dir;
  CHECK(runKeygen((dir.path / "sub").string(), "sched") == 0);
  CHECK(fs::exists(dir.path / "sub" / "sched.key"));
  CHECK(fs::exists(dir.path / "sub" / "sched.key_secret"));
  CHECK(runKeygen((dir.path / "sub").string(), "sched") == 1);
}

TEST_CASE("bad secret key files are refused with a reason") {
  TempDir dir;
  auto pair = generateCurveKeyPair().value();
  auto other = generateCurveKeyPair().value();
  std::string good = "curve\n    public-key = \"" + pair.public_key + "\"\n    secret-key = \"" + pair.secret_key + "\"\n";

  auto open = readCurveSecretKeyFile(dir.file("open.key_secret", good, 0644));
  REQUIRE(!open.ok());
  CHECK(mentions(open.error(), "chmod 600"));

  auto mismatch = readCurveSecretKeyFile(dir.file("mismatch.key_secret",
      "curve\n public-key = \"" + other.public_key + "\"\n secret-key = \"" + pair.secret_key + "\"\n"));
  REQUIRE(!mismatch.ok());
  CHECK(mentions(mismatch.error(), "does not belong"));

  auto public_only = readCurveSecretKeyFile(dir.file("pub.key", "public-key = \"" + pair.public_key + "\"\n"));
  REQUIRE(!public_only.ok());
  CHECK(mentions(public_only.error(), "no secret-key"));

  auto short_key = readCurveSecretKeyFile(dir.file("short.key_secret", "secret-key = \"abc\"\n"));
  REQUIRE(!short_key.ok());
  CHECK(mentions(short_key.error(), "short.key_secret:1"));

  auto twice = readCurvePublicKeyFile(dir.file("twice.key",
      "# c\npublic-key = \"" + pair.public_key + "\"\npublic-key = \"" + pair.public_key + "\"\n"));
  REQUIRE(!twice.ok());
  CHECK(mentions(twice.error(), "twice.key:3"));

  CHECK(!readCurveSecretKeyFile((dir.path / "missing").string()).ok());
  CHECK(!readCurvePublicKeyFile(dir.path.string()).ok());  // a directory

  // Without quotes and with only the secret half is fine.
  auto bare = readCurveSecretKeyFile(dir.file("bare.key_secret", "secret-key = " + pair.secret_key + "\n"));
  REQUIRE(bare.ok());
  CHECK(bare->public_key == pair.public_key);
}

TEST_CASE("allow-lists: one file of keys, or a directory of .key files") {
  TempDir dir;
  auto a = generateCurveKeyPair().value(), b = generateCurveKeyPair().value();

  auto list = loadCurveAllowList(dir.file("allowed", "# cluster keys\n\n" + a.public_key + "   # w0\n  " +
                                                         b.public_key + "\n"));
  REQUIRE(list.ok());
  CHECK(*list == std::set<std::string>{a.public_key, b.public_key});

  // Z85 uses '#': such a key is a key, not a comment.
  CurveKeyPair hashed = a;
  for (int i = 0; i < 1000 && hashed.public_key.find('#') == std::string::npos; ++i) hashed = generateCurveKeyPair().value();
  REQUIRE(hashed.public_key.find('#') != std::string::npos);
  auto with_hash = loadCurveAllowList(dir.file("hashed", hashed.public_key + "\n" + a.public_key + "\t# w0\n"));
  REQUIRE(with_hash.ok());
  CHECK(*with_hash == std::set<std::string>{hashed.public_key, a.public_key});

  auto bad = loadCurveAllowList(dir.file("bad", a.public_key + "\nnot-a-key\n"));
  REQUIRE(!bad.ok());
  CHECK(mentions(bad.error(), "bad:2"));
  CHECK(mentions(bad.error(), "not-a-key"));

  auto empty = loadCurveAllowList(dir.file("empty", "# nobody\n"));
  REQUIRE(!empty.ok());
  CHECK(mentions(empty.error(), "no public keys"));
  CHECK(!loadCurveAllowList((dir.path / "missing").string()).ok());

  fs::create_directory(dir.path / "keys");
  REQUIRE(writeCurveKeyFiles((dir.path / "keys").string(), "a", a).ok());
  REQUIRE(writeCurveKeyFiles((dir.path / "keys").string(), "b", b).ok());
  std::ofstream(dir.path / "keys" / "README") << "not a key file, skipped\n";
  auto from_dir = loadCurveAllowList((dir.path / "keys").string());
  REQUIRE(from_dir.ok());
  CHECK(*from_dir == std::set<std::string>{a.public_key, b.public_key});

  std::ofstream(dir.path / "keys" / "broken.key") << "public-key = \"short\"\n";
  auto broken = loadCurveAllowList((dir.path / "keys").string());
  REQUIRE(!broken.ok());
  CHECK(mentions(broken.error(), "broken.key:1"));
}
