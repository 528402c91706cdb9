using System.Runtime.InteropServices;
using Whale.Gguf;
using Whale.Tokenization;
using Whale.Training.Model;
using static TorchSharp.torch;

namespace Whale.Training.Export;

/// <summary>
/// The inverse of <see cref="GgufExporter"/>: loads the F32 tensors of a deepseek2 GGUF written by it into a
/// <see cref="DeepSeekV3Model"/> of the same configuration, including the routing bias and the MTP block, so a
/// stage can start from an exported file (e.g. GRPO from the committed SFT model). The file's vocabulary must be the
/// one the run tokenizes with.
/// </summary>
public static class GgufImporter
{
    /// <summary>Overwrites every weight of <paramref name="model"/> with the file's; returns the number of tensors read.</summary>
    public static int Import(DeepSeekV3Model model, VocabData vocab, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocab);
        if (!File.Exists(path)) throw new FileNotFoundException($"no such model file: {path}", path);
        using var f = GgufFile.Open(path);
        if (f.Architecture != "deepseek2") throw new InvalidDataException($"{path}: architecture '{f.Architecture}', expected deepseek2");
        var fileVocab = VocabData.FromGguf(f);
        if (!fileVocab.Tokens.SequenceEqual(vocab.Tokens) || !(fileVocab.Merges ?? []).SequenceEqual(vocab.Merges ?? []))
            throw new InvalidDataException($"{path}: the vocabulary differs from this recipe's ({fileVocab.Count} vs {vocab.Count} tokens); use the recipe and seed that produced the file");
        bool mtp = model.mtp is not null;
        int fileMtp = f.GetInt32("deepseek2.nextn_predict_layers", 0);
        if (mtp != fileMtp > 0)
            throw new InvalidDataException($"{path}: nextn_predict_layers {fileMtp}, but the model {(mtp ? "has" : "has no")} MTP block");
        var layout = DeepSeekGgufLayout.Tensors(model, mtp);
        if (f.Tensors.Count != layout.Count)
            throw new InvalidDataException($"{path}: {f.Tensors.Count} tensors, the model has {layout.Count}");
        using var _ = no_grad();
        foreach (var (name, view, ne) in layout)
        {
            if (!f.TryGetTensor(name, out var info)) throw new InvalidDataException($"{path}: tensor {name} is missing");
            if (info.Type != GgmlType.F32) throw new InvalidDataException($"{path}: {name} is {info.Type}; only F32 files can be imported");
            if (!info.Shape.SequenceEqual(ne))
                throw new InvalidDataException($"{path}: {name} has shape [{string.Join(", ", info.Shape)}], the model needs [{string.Join(", ", ne)}]");
            var data = MemoryMarshal.Cast<byte, float>(f.GetTensorSpan(info)).ToArray();
            using var src = tensor(data, view.shape);
            view.copy_(src);
        }
        foreach (var moe in model.MoeLayers()) moe.routed.zero_();
        return layout.Count;
    }
}
