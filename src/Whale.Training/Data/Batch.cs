using static TorchSharp.torch;

namespace Whale.Training.Data;

/// <summary>
/// A right-padded batch for next-token training: inputs [B, T] = ids[:-1], labels [B, T] = ids[1:] with -100 where
/// the prediction is not trained (prompt, padding). Padding sits after the real ids, so causal attention never
/// lets it change a trained position.
/// </summary>
public static class Batch
{
    public const int Ignore = -100;

    public static (Tensor Inputs, Tensor Labels) Make(IReadOnlyList<Encoded> items, int padId)
    {
        ArgumentNullException.ThrowIfNull(items);
        int t = items.Max(e => e.Ids.Length) - 1;
        var x = new long[items.Count * t];
        var y = new long[items.Count * t];
        Array.Fill(x, padId);
        Array.Fill(y, Ignore);
        for (int b = 0; b < items.Count; b++)
        {
            var e = items[b];
            for (int i = 0; i + 1 < e.Ids.Length; i++)
            {
                x[b * t + i] = e.Ids[i];
                if (e.Trained[i + 1]) y[b * t + i] = e.Ids[i + 1];
            }
        }
        return (tensor(x, [items.Count, t]), tensor(y, [items.Count, t]));
    }
}
