/* simdjson_ceiling: the second ingest ceiling of bench/run (docs/performance.md) - the fastest JSON
 * parser packaged in Debian (libsimdjson-dev) parsing the same NDJSON bytes the load generator posts,
 * on N threads. A benchmark helper only (C++): the server never links simdjson.
 *
 *   simdjson_ceiling --file F [--threads N] [--seconds S] [--api dom|ondemand]
 *
 * Each line (one `event` row, one columnar `events` record, or a spill/run record) is parsed on
 * its own and every value in it is visited, so nothing is skipped lazily: with --api dom (the
 * default) simdjson's DOM parser builds the whole tape (validating the document and converting every
 * number), then a walk reads every key, string, number and literal from it; with --api ondemand
 * the On-Demand front end is driven over every value of the document (each number converted with
 * get_number, each key and string unescaped), and the document must end where the walk ends.
 * simdjson does not refuse duplicate keys (Jansson's JSON_REJECT_DUPLICATES, used by the other
 * ceiling and the server, does): that check is not in this figure.
 * The threads share one counter over (pass, line) as jansson_ceiling's do, one parser per thread;
 * the number of passes comes from a one-thread calibration pass so the run lasts about S seconds
 * (default 2). Prints one JSON object: api, implementation (simdjson's kernel: the DOM parser picks
 * the best for the CPU at run time, On-Demand is compiled for the CPU of the build, -march=native),
 * events, lines, bytes, passes, threads, seconds,
 * events_per_s, mb_per_s, checksum (of the values seen, so the walk is not optimised away). Exit
 * 0, 1 on a runtime failure, 2 on a usage error.
 * Threads: main prepares and joins; workers only read the lines and the shared counter. */
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace
{

using namespace simdjson;

struct input {
    std::vector<padded_string> lines;
    std::vector<long> events;
    long total_events = 0;
    size_t bytes = 0;
};

bool use_dom = true;
input g;
std::atomic<long> next_line{0};
long limit = 0; /* passes x lines */
std::atomic<int> failed{0};
std::atomic<uint64_t> checksum{0};

[[noreturn]] void die(const char *what)
{
    std::fprintf(stderr, "simdjson_ceiling: %s\n", what);
    std::exit(1);
}

double now()
{
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

uint64_t mix(uint64_t acc, uint64_t v)
{
    return (acc ^ v) * 0x100000001b3ULL;
}

uint64_t bits(double d)
{
    uint64_t u;
    std::memcpy(&u, &d, sizeof u);
    return u;
}

/* ---- DOM: the parse builds the whole tape; the walk reads every value from it ---- */
uint64_t walk_dom(dom::element e, uint64_t acc)
{
    switch (e.type()) {
    case dom::element_type::ARRAY:
        for (dom::element v : dom::array(e))
            acc = walk_dom(v, acc);
        return mix(acc, 1);
    case dom::element_type::OBJECT:
        for (dom::key_value_pair kv : dom::object(e))
            acc = walk_dom(kv.value, mix(acc, kv.key.size()));
        return mix(acc, 2);
    case dom::element_type::INT64:
        return mix(acc, static_cast<uint64_t>(e.get_int64().value_unsafe()));
    case dom::element_type::UINT64:
        return mix(acc, e.get_uint64().value_unsafe());
    case dom::element_type::DOUBLE:
        return mix(acc, bits(e.get_double().value_unsafe()));
    case dom::element_type::STRING:
        return mix(acc, e.get_string().value_unsafe().size());
    case dom::element_type::BOOL:
        return mix(acc, e.get_bool().value_unsafe() ? 3 : 4);
    case dom::element_type::NULL_VALUE:
        return mix(acc, 5);
    }
    return acc;
}

/* ---- On-Demand: every value is visited and converted, in document order ---- */
error_code walk_od(ondemand::value v, uint64_t &acc)
{
    ondemand::json_type t;
    if (auto err = v.type().get(t))
        return err;
    switch (t) {
    case ondemand::json_type::array: {
        ondemand::array a;
        if (auto err = v.get_array().get(a))
            return err;
        for (auto el : a) {
            ondemand::value x;
            if (auto err = el.get(x))
                return err;
            if (auto err = walk_od(x, acc))
                return err;
        }
        acc = mix(acc, 1);
        return SUCCESS;
    }
    case ondemand::json_type::object: {
        ondemand::object o;
        if (auto err = v.get_object().get(o))
            return err;
        for (auto field : o) {
            std::string_view k;
            if (auto err = field.unescaped_key().get(k))
                return err;
            acc = mix(acc, k.size());
            ondemand::value x;
            if (auto err = field.value().get(x))
                return err;
            if (auto err = walk_od(x, acc))
                return err;
        }
        acc = mix(acc, 2);
        return SUCCESS;
    }
    case ondemand::json_type::number: {
        ondemand::number n;
        if (auto err = v.get_number().get(n))
            return err;
        acc = mix(acc, n.is_double() ? bits(n.get_double()) : static_cast<uint64_t>(n.get_int64()));
        return SUCCESS;
    }
    case ondemand::json_type::string: {
        std::string_view s;
        if (auto err = v.get_string().get(s))
            return err;
        acc = mix(acc, s.size());
        return SUCCESS;
    }
    case ondemand::json_type::boolean: {
        bool b;
        if (auto err = v.get_bool().get(b))
            return err;
        acc = mix(acc, b ? 3 : 4);
        return SUCCESS;
    }
    case ondemand::json_type::null: {
        bool null = false;
        if (auto err = v.is_null().get(null))
            return err;
        acc = mix(acc, null ? 5 : 6);
        return null ? SUCCESS : INCORRECT_TYPE;
    }
    }
    return INCORRECT_TYPE;
}

struct parsers {
    dom::parser dom;
    ondemand::parser od;
};

/* One line, fully parsed and walked; false when it is not JSON. */
bool parse_line(parsers &p, const padded_string &line, uint64_t &acc)
{
    if (use_dom) {
        dom::element root;
        if (p.dom.parse(line).get(root))
            return false;
        acc = walk_dom(root, acc);
        return true;
    }
    ondemand::document doc;
    if (p.od.iterate(line).get(doc))
        return false;
    ondemand::value root;
    if (doc.get_value().get(root) || walk_od(root, acc))
        return false;
    /* The walk must have consumed the whole document: past its end there is no location. */
    return doc.current_location().error() == OUT_OF_BOUNDS;
}

/* The events a line carries: 1 for an `event` row, the length of columns.event for `events`. */
long events_of(dom::parser &p, const padded_string &line)
{
    dom::element root;
    if (p.parse(line).get(root))
        die("a line of the input is not JSON");
    std::string_view type;
    if (root["type"].get(type))
        return 0;
    if (type == "event")
        return 1;
    dom::array ev;
    if (type == "events" && !root["columns"]["event"].get(ev))
        return static_cast<long>(ev.size());
    return 0;
}

void load(const char *path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
        die("cannot open the input file");
    dom::parser p;
    std::string line;
    while (std::getline(f, line)) {
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
            line.pop_back();
        if (line.empty())
            continue;
        g.lines.emplace_back(line);
        long n = events_of(p, g.lines.back());
        g.events.push_back(n);
        g.total_events += n;
        g.bytes += line.size() + 1;
    }
    if (g.lines.empty())
        die("the input is empty");
}

void worker()
{
    parsers p;
    uint64_t acc = 0;
    long n = static_cast<long>(g.lines.size());
    for (long k; (k = next_line.fetch_add(1)) < limit;)
        if (!parse_line(p, g.lines[static_cast<size_t>(k % n)], acc))
            failed.store(1);
    checksum.fetch_xor(acc);
}

[[noreturn]] void usage()
{
    std::fprintf(stderr,
                 "usage: simdjson_ceiling --file F [--threads N] [--seconds S] [--api dom|ondemand]\n");
    std::exit(2);
}

} // namespace

int main(int argc, char **argv)
{
    const char *file = nullptr;
    int threads = 2;
    double seconds = 2;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        std::string k = argv[i];
        const char *v = argv[++i];
        if (k == "--file")
            file = v;
        else if (k == "--threads")
            threads = std::atoi(v);
        else if (k == "--seconds")
            seconds = std::atof(v);
        else if (k == "--api" && (!std::strcmp(v, "dom") || !std::strcmp(v, "ondemand")))
            use_dom = !std::strcmp(v, "dom");
        else
            usage();
    }
    if (!file || threads < 1 || !(seconds > 0))
        usage();
    load(file);

    /* Calibration: one pass on one thread (also sizes the parser's buffers). */
    {
        parsers p;
        uint64_t acc = 0;
        double t = now();
        for (const padded_string &line : g.lines)
            if (!parse_line(p, line, acc))
                die("a line did not parse");
        double one = now() - t;
        long passes = static_cast<long>(seconds * threads / (one > 1e-6 ? one : 1e-6)) + 1;
        limit = passes * static_cast<long>(g.lines.size());
    }
    long passes = limit / static_cast<long>(g.lines.size());

    std::vector<std::thread> pool;
    double t = now();
    for (int i = 0; i < threads; i++)
        pool.emplace_back(worker);
    for (std::thread &th : pool)
        th.join();
    double secs = now() - t;
    if (failed.load())
        die("a line did not parse");

    double events = static_cast<double>(passes) * static_cast<double>(g.total_events);
#define SW_STR2(x) #x
#define SW_STR(x)  SW_STR2(x)
    /* The DOM kernel is chosen by the library at run time; On-Demand's is the one compiled here. */
    const char *impl =
        use_dom ? get_active_implementation()->name().c_str() : SW_STR(SIMDJSON_BUILTIN_IMPLEMENTATION);
    std::printf("{\"api\":\"%s\",\"implementation\":\"%s\",\"events\":%ld,\"lines\":%zu,\"bytes\":%zu,"
                "\"passes\":%ld,\"threads\":%d,"
                "\"seconds\":%.6f,\"events_per_s\":%.3f,\"mb_per_s\":%.3f,\"checksum\":%llu}\n",
                use_dom ? "dom" : "ondemand", impl, g.total_events, g.lines.size(), g.bytes, passes, threads,
                secs, events / secs, static_cast<double>(passes) * static_cast<double>(g.bytes) / secs / 1e6,
                static_cast<unsigned long long>(checksum.load()));
    return 0;
}
