// XLM-RoBERTa (`modeling_xlm_roberta.py`) and CamemBERT (`modeling_camembert.py`) are RoBERTa's
// model under other names: the same layers, keys under `roberta.`, positions past the padding index.
// They differ in their SentencePiece tokenizers and vocabulary sizes, which config.json carries.

extension ModelFamily {
    /// XLM-RoBERTa (`model_type` `xlm-roberta`): multilingual RoBERTa with a SentencePiece tokenizer.
    public static let xlmRoberta = robertaBody(modelType: "xlm-roberta", classPrefix: "XLMRoberta", tokenizer: .sentencePiece)
    /// CamemBERT (`model_type` `camembert`): French RoBERTa with a SentencePiece tokenizer.
    public static let camembert = robertaBody(modelType: "camembert", classPrefix: "Camembert", tokenizer: .sentencePiece)
}
