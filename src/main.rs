fn main() {
    println!("engine");
}
