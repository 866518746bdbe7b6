#include "token.h"

#include <random>

namespace moai::sched {

std::string newLeaseToken() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device os("/dev/urandom");  // explicit: "default" may pick rdrand alone
  std::string token;
  for (int i = 0; i < 8; ++i) {
    uint32_t word = os();
    for (int nibble = 0; nibble < 8; ++nibble, word >>= 4) token += kHex[word & 0xf];
  }
  return token;
}

}  // namespace moai::sched
