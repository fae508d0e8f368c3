/// English words for whole numbers 0…999,999, British style ("three hundred and twelve",
/// "forty-two thousand and five"): the source side of the sample's parallel corpus.
enum NumberWords {
    static let ones = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                       "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
    static let tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    /// Every word the corpus uses (the tokenizer's whole-word entries), "-" included.
    static let vocabulary = ones + tens.filter { !$0.isEmpty } + ["hundred", "thousand", "and", "-"]

    /// 1…99: "seven", "forty-two" (with `hyphen` false, "forty two").
    static func belowHundred(_ n: Int, hyphen: Bool) -> String {
        if n < 20 { return ones[n] }
        return n % 10 == 0 ? tens[n / 10] : tens[n / 10] + (hyphen ? "-" : " ") + ones[n % 10]
    }

    /// 1…999: "three hundred and twelve", "nine hundred", "twelve".
    static func belowThousand(_ n: Int, hyphen: Bool) -> String {
        let hundreds = n / 100, rest = n % 100
        guard hundreds > 0 else { return belowHundred(rest, hyphen: hyphen) }
        let head = ones[hundreds] + " hundred"
        return rest == 0 ? head : head + " and " + belowHundred(rest, hyphen: hyphen)
    }

    /// 0…999,999 in words; a thousands group followed by fewer than 100 takes "and"
    /// ("one thousand and five"). `n` outside the range is a programming error of the trainer.
    static func words(_ n: Int, hyphen: Bool = true) -> String {
        precondition((0...999_999).contains(n), "NumberWords.words covers 0…999,999")
        if n == 0 { return "zero" }
        let thousands = n / 1000, rest = n % 1000
        guard thousands > 0 else { return belowThousand(rest, hyphen: hyphen) }
        let head = belowThousand(thousands, hyphen: hyphen) + " thousand"
        if rest == 0 { return head }
        return head + (rest < 100 ? " and " : " ") + belowThousand(rest, hyphen: hyphen)
    }
}
