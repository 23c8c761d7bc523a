#include "embed/base/buffer.h"

namespace embed {

void Buffer::Append(ByteView bytes) {
  // Compact before growing so the buffer stays proportional to unread data.
  if (read_pos_ > 0 && (read_pos_ == data_.size() || read_pos_ >= data_.size() / 2)) {
    data_.erase(0, read_pos_);
    read_pos_ = 0;
  }
  data_.append(bytes.data(), bytes.size());
}

void Buffer::Consume(std::size_t count) {
  read_pos_ += count;
  if (read_pos_ >= data_.size()) Clear();
}

void Buffer::Clear() {
  data_.clear();
  read_pos_ = 0;
}

}  // namespace embed
