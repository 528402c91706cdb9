using System.CommandLine;
using Whale.Gguf;
using Whale.Models;

namespace Whale.Cli.Commands;

/// <summary><c>whale inspect FILE</c>: metadata and tensor table of a GGUF file, plus KV-cache cost per token.</summary>
internal static class InspectCommand
{
    public static Command Create(CliIo io)
    {
        var file = new Argument<string>("file") { Description = "GGUF file" };
        var cmd = new Command("inspect", "Print the metadata and tensors of a GGUF file") { file };
        cmd.SetAction(r =>
        {
            using var f = GgufFile.Open(r.GetValue(file)!);
            var o = io.Out;
            o.WriteLine($"file: {f.Path}");
            o.WriteLine($"version: {f.Version}, alignment: {f.Alignment}, tensors: {f.Tensors.Count}, metadata keys: {f.Metadata.Count}");
            o.WriteLine();
            o.WriteLine("metadata:");
            foreach (var (key, v) in f.Metadata) o.WriteLine($"  {key} = {Show(v)}");
            o.WriteLine();
            o.WriteLine("tensors:");
            long total = 0;
            var byType = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var t in f.Tensors)
            {
                o.WriteLine($"  {t.Name,-40} {t.Type,-6} [{string.Join(", ", t.Shape)}] {t.ByteSize:N0} B");
                total += t.ByteSize;
                byType[t.Type.ToString()] = byType.GetValueOrDefault(t.Type.ToString()) + t.ElementCount;
            }
            o.WriteLine();
            o.WriteLine($"total tensor bytes: {total:N0} ({total / 1e6:F1} MB); parameters by type: {string.Join(", ", byType.Select(kv => $"{kv.Key} {kv.Value:N0}"))}");
            try
            {
                var c = ModelConfig.FromGguf(f);
                long perToken = 2L * c.NumLayers * c.KvDim * 2;
                o.WriteLine($"architecture: {c.Architecture}, layers {c.NumLayers}, embed {c.EmbedDim}, heads {c.NumHeads}/{c.NumKvHeads} kv, head dim {c.HeadDim}, ffn {c.FfnDim}, vocab {c.VocabSize}, context {c.ContextLength}");
                if (c.Architecture == "deepseek2")
                {
                    var ds = Whale.Models.DeepSeek2.DeepSeek2Config.FromGguf(f);
                    o.WriteLine($"deepseek2: {(ds.SplitKvB ? "attn_k_b/attn_v_b" : "legacy attn_kv_b (split at load)")}, q_lora_rank {ds.QLoraRank}, kv_lora_rank {ds.KvLoraRank}, head dims nope {ds.QkNopeDim} rope {ds.QkRopeDim} v {ds.VHeadDim}, experts {ds.ExpertUsedCount}/{ds.ExpertCount} (+{ds.SharedExpertCount} shared, groups {ds.ExpertGroupUsedCount}/{ds.ExpertGroupCount}), {ds.Gating} gating, kq_scale {ds.KqScale:G6}");
                    o.WriteLine($"KV cache (F16): {ds.KvBytesPerToken:N0} bytes per token (MLA latent {ds.KvLoraRank} + rope key {ds.QkRopeDim} per layer); full multi-head K/V would take {ds.MultiHeadKvBytesPerToken:N0} bytes per token ({(double)ds.MultiHeadKvBytesPerToken / ds.KvBytesPerToken:F1}x)");
                }
                else
                {
                    o.WriteLine($"KV cache (F16): {perToken:N0} bytes per token");
                }
            }
            catch (Exception e) when (e is NotSupportedException or GgufException)
            {
                o.WriteLine($"model: {e.Message}");
            }
            return 0;
        });
        return cmd;
    }

    private static string Show(GgufValue v)
    {
        if (v.Type != GgufValueType.Array)
        {
            var s = v.Type == GgufValueType.String ? $"\"{v.AsString()}\"" : Convert.ToString(v.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
            return s.Length > 120 ? s[..117].ReplaceLineEndings("\\n") + "...\"" : s.ReplaceLineEndings("\\n");
        }
        var items = ((System.Collections.IEnumerable)v.Value).Cast<object>().Take(5).Select(x => x is string str ? $"\"{str}\"" : Convert.ToString(x, System.Globalization.CultureInfo.InvariantCulture));
        return $"[{v.ElementType} x {v.ArrayLength}] {string.Join(", ", items)}{(v.ArrayLength > 5 ? ", ..." : "")}";
    }
}
