// A player-style integration: stream a decoded clip through a vsrqa session, print each key
// frame's score as soon as it is ready, then the clip score. Uses the C++ wrapper vsrqa.hpp.
//
//   player_score BUNDLE_DIR CLIP.y4m
//
// The Y4M reader stands in for a real decoder: what matters is how frames are handed to vsrqa
// (a VsrqaFrame pointing at the decoder's planes, with their pitches; no copy).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <vsrqa.hpp>

namespace {

// A minimal YUV4MPEG2 reader (8-bit 4:2:0), one frame at a time.
class Y4mReader {
  public:
    explicit Y4mReader(const std::string &path) : in_(path, std::ios::binary) {
        std::string header;
        if (!in_ || !std::getline(in_, header) || header.rfind("YUV4MPEG2", 0) != 0) {
            throw std::runtime_error("not a Y4M file: " + path);
        }
        width_ = field_int(header, " W");
        height_ = field_int(header, " H");
        auto f = header.find(" F");
        if (f != std::string::npos) {
            long num = 0, den = 1;
            std::sscanf(header.c_str() + f + 2, "%ld:%ld", &num, &den);
            fps_ = den ? static_cast<double>(num) / den : 0.0;
        }
        if (width_ <= 0 || height_ <= 0 || fps_ <= 0.0) throw std::runtime_error("bad Y4M header: " + header);
        chroma_width_ = (width_ + 1) / 2;
        chroma_height_ = (height_ + 1) / 2;
        buffer_.resize(static_cast<size_t>(width_) * height_ + 2 * static_cast<size_t>(chroma_width_) * chroma_height_);
    }

    double fps() const { return fps_; }

    // Reads the next frame and describes it for vsrqa; false at the end of the file.
    bool next(VsrqaFrame &frame) {
        std::string marker;
        if (!std::getline(in_, marker) || marker.rfind("FRAME", 0) != 0) return false;
        if (!in_.read(reinterpret_cast<char *>(buffer_.data()), static_cast<std::streamsize>(buffer_.size()))) {
            throw std::runtime_error("truncated Y4M frame");
        }
        frame = vsrqa::defaults<VsrqaFrame>();
        const size_t luma = static_cast<size_t>(width_) * height_;
        const size_t chroma = static_cast<size_t>(chroma_width_) * chroma_height_;
        frame.format = VSRQA_PIXEL_FORMAT_I420;
        frame.width = static_cast<uint32_t>(width_);
        frame.height = static_cast<uint32_t>(height_);
        frame.color_matrix = VSRQA_COLOR_MATRIX_BT601;
        frame.color_range = VSRQA_COLOR_RANGE_LIMITED;
        frame.planes[0] = buffer_.data();
        frame.planes[1] = buffer_.data() + luma;
        frame.planes[2] = buffer_.data() + luma + chroma;
        frame.pitches[0] = static_cast<size_t>(width_);
        frame.pitches[1] = frame.pitches[2] = static_cast<size_t>(chroma_width_);
        return true;
    }

  private:
    static int field_int(const std::string &header, const char *tag) {
        auto at = header.find(tag);
        return at == std::string::npos ? 0 : std::stoi(header.substr(at + 2));
    }

    std::ifstream in_;
    int width_ = 0, height_ = 0, chroma_width_ = 0, chroma_height_ = 0;
    double fps_ = 0.0;
    std::vector<unsigned char> buffer_;
};

void print_ready_scores(vsrqa::Session &session) {
    while (auto score = session.poll()) {
        std::printf("key frame %u (frame %llu): %.6f\n", score->key_frame,
                    static_cast<unsigned long long>(score->frame_index), score->score);
    }
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: %s BUNDLE_DIR CLIP.y4m [auto|cpu|onnxruntime|tensorrt]\n", argv[0]);
        return 2;
    }
    const std::string backend_name = argc == 4 ? argv[3] : "auto";
    VsrqaBackend backend = VSRQA_BACKEND_AUTO;
    if (backend_name == "cpu") backend = VSRQA_BACKEND_CPU;
    else if (backend_name == "onnxruntime") backend = VSRQA_BACKEND_ONNXRUNTIME;
    else if (backend_name == "tensorrt") backend = VSRQA_BACKEND_TENSORRT;
    else if (backend_name != "auto") {
        std::fprintf(stderr, "unknown backend \"%s\"\n", backend_name.c_str());
        return 2;
    }
    try {
        if (!vsrqa::library_is_compatible()) throw std::runtime_error("libvsrqa is older than vsrqa.hpp");
        vsrqa::Engine engine(argv[1], backend);
        Y4mReader clip(argv[2]);
        vsrqa::Session session = engine.session(clip.fps());
        VsrqaFrame frame;
        while (clip.next(frame)) {
            session.push(frame);
            print_ready_scores(session);  // a player would update its overlay here
        }
        VsrqaClipScore clip_score = session.finish();
        print_ready_scores(session);
        if (!session.ended()) throw std::runtime_error("scores left after the drain");
        std::printf("clip score %.6f (%llu frames, %u key frames)\n", clip_score.score,
                    static_cast<unsigned long long>(clip_score.frames), clip_score.key_frames);
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "player_score: %s\n", e.what());
        return 1;
    }
}
