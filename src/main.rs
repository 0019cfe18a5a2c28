use clap::Parser;

fn main() {
    let cli = litellm_stack::cli::Cli::parse();
    std::process::exit(litellm_stack::commands::run(cli).code());
}
