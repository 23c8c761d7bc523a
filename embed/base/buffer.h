#pragma once
// Buffer: a growable byte buffer with a read cursor, for parsers that keep the
// unconsumed tail of the input. Appending may invalidate views into it.
// Not thread-safe.

#include <cstddef>
#include <string>

#include "embed/base/bytes.h"

namespace embed {

class Buffer {
 public:
  // Appends bytes after the unread region.
  void Append(ByteView bytes);
  // The bytes not yet consumed.
  ByteView Readable() const { return ByteView(data_).substr(read_pos_); }
  std::size_t size() const { return data_.size() - read_pos_; }
  bool empty() const { return size() == 0; }
  // Marks `count` readable bytes as consumed. Precondition: count <= size().
  void Consume(std::size_t count);
  void Clear();

 private:
  std::string data_;
  std::size_t read_pos_ = 0;
};

}  // namespace embed
