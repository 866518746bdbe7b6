#include "transport/shm_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cstring>
#include <random>

namespace moai {

Result<std::unique_ptr<ShmSegment>> ShmSegment::create(size_t size) {
  if (size < kHeaderBytes + 2 * 4096) return makeError(MODNN_ERR_INVALID_VALUE, "shared segment too small");
  std::random_device rd;
  char name[64];
  std::snprintf(name, sizeof name, "/moai-%d-%08x%08x", int(getpid()), rd(), rd());
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return makeError(MODNN_ERR_OUT_OF_MEMORY, std::string("shm_open: ") + strerror(errno));
  if (ftruncate(fd, off_t(size)) != 0) {
    close(fd);
    shm_unlink(name);
    return makeError(MODNN_ERR_OUT_OF_MEMORY, std::string("ftruncate: ") + strerror(errno));
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    shm_unlink(name);
    return makeError(MODNN_ERR_OUT_OF_MEMORY, std::string("mmap: ") + strerror(errno));
  }
  auto seg = std::unique_ptr<ShmSegment>(new ShmSegment);
  seg->name_ = name;
  seg->base_ = static_cast<uint8_t*>(p);
  seg->size_ = size;
  seg->owner_ = true;
  seg->linked_ = true;
  new (seg->base_) std::atomic<uint64_t>(0);
  return seg;
}

Result<std::unique_ptr<ShmSegment>> ShmSegment::open(const std::string& name, size_t size) {
  if (name.size() < 2 || name[0] != '/' || name.find('/', 1) != std::string::npos || name.size() > 255)
    return makeError(MODNN_ERR_INVALID_VALUE, "bad shared segment name");
  int fd = shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) return makeError(MODNN_ERR_INVALID_VALUE, std::string("shm_open: ") + strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || size_t(st.st_size) != size || size < kHeaderBytes + 2 * 4096) {
    close(fd);
    return makeError(MODNN_ERR_INVALID_VALUE, "shared segment size does not match");
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return makeError(MODNN_ERR_OUT_OF_MEMORY, std::string("mmap: ") + strerror(errno));
  auto seg = std::unique_ptr<ShmSegment>(new ShmSegment);
  seg->name_ = name;
  seg->base_ = static_cast<uint8_t*>(p);
  seg->size_ = size;
  return seg;
}

void ShmSegment::unlinkName() {
  if (owner_ && linked_) shm_unlink(name_.c_str());
  linked_ = false;
}

ShmSegment::~ShmSegment() {
  unlinkName();
  if (base_) munmap(base_, size_);
}

}  // namespace moai
