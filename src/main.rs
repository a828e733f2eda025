fn main() {
    std::process::exit(tfw::run(std::env::args_os()));
}
