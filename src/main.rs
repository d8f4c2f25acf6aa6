fn main() {
    std::process::exit(berth::cmd::main());
}
