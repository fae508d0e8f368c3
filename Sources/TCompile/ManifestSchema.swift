import Foundation
import Transformers

extension ModelManifest {
    /// The JSON Schema (draft 2020-12) of `tcompile.model/2`, made from `ModelRegistry`: the families,
    /// tasks and output names it lists are exactly the registry's. `tcompile families --schema`
    /// prints it; docs/schemas/tcompile.model-2.schema.json is its output, checked by a test.
    public static var jsonSchema: String {
        let families = ModelRegistry.families
        let perFamily = families.map { "\($0.modelType): \($0.taskNames)" }.joined(separator: "; ")
        var outputs: [String] = []
        for family in families { for entry in family.tasks { for o in entry.outputs where !outputs.contains(o) { outputs.append(o) } } }
        func list(_ items: [String]) -> String { "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        return """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "$id": "\(format)",
          "title": "TCompile model manifest (\(format))",
          "description": "Names a Hugging Face checkpoint directory and how to trace it; tcompile builds the eager model, traces it with the dynamic dims below, and compiles it. Generated from the model registry by `tcompile families --schema`.",
          "type": "object",
          "additionalProperties": false,
          "required": ["format", "checkpoint", "dynamic_dims"],
          "properties": {
            "format": {"const": "\(format)"},
            "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "description": "The model's name, a C identifier; the library becomes libNAME.a. Defaults to the checkpoint directory's name made a C identifier."},
            "checkpoint": {"type": "string", "description": "The checkpoint directory (config.json, model.safetensors, tokenizer files): absolute, or relative to this file."},
            "model_type": {"enum": \(list(families.map(\.modelType))), "description": "Optional; must match config.json's model_type."},
            "task": {
              "enum": \(list(ModelRegistry.tasks.map(\.rawValue))),
              "description": "The Hugging Face task (\(perFamily)). Default: the task config.json's architectures select."
            },
            "dynamic_dims": {
              "type": "object",
              "additionalProperties": false,
              "required": ["batch", "seq"],
              "properties": {
                "batch": {"type": "object", "additionalProperties": false, "required": ["max"], "properties": {"max": {"type": "integer", "minimum": 1}}},
                "seq": {"type": "object", "additionalProperties": false, "required": ["max"], "properties": {"max": {"type": "integer", "minimum": 2, "description": "At most the checkpoint's position table allows."}}}
              }
            },
            "outputs": {"type": "array", "minItems": 1, "items": {"enum": \(list(outputs))}, "description": "Outputs to keep, by Hugging Face name; all of the task's when absent."},
            "options": {
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "threads": {"type": "integer", "minimum": 1, "description": "Threads for the compiled kernels (and the eager ones) when tcompile runs or benchmarks the model, and the default thread count of a library compiled from it."},
                "precision": {"enum": ["f32", "fp32", "bf16", "int8"], "description": "The arithmetic of the matrix products when tcompile compiles the model (f32 and fp32 are the same; bf16 needs a CPU with AVX512-BF16, int8 one with AVX512-VNNI); tcompile --precision overrides it."}
              }
            }
          }
        }

        """
    }
}
