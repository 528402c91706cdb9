using static TorchSharp.torch;

namespace Whale.Training.Model;

/// <summary>Keys and values of the positions seen so far by one attention layer (sampling only; training recomputes).</summary>
public sealed class LayerCache : IDisposable
{
    public Tensor? KNope { get; private set; }  // [B, H, S, Dn]
    public Tensor? V { get; private set; }      // [B, H, S, Dv]
    public Tensor? KPe { get; private set; }    // [B, S, Dr]

    public int Length => KNope is null ? 0 : (int)KNope.shape[2];

    /// <summary>
    /// Key positions no query may attend to, [B, S'] with S' at least the cached length (true = padding), for batches of
    /// left-padded prompts; null when every position is real. Owned by the caller (one tensor for all layers).
    /// </summary>
    public Tensor? Padding { get; init; }

    /// <summary>Appends the new positions and returns the full keys/values.</summary>
    public (Tensor KNope, Tensor V, Tensor KPe) Append(Tensor kNope, Tensor v, Tensor kPe)
    {
        var k = KNope is null ? kNope : cat([KNope, kNope], 2);
        var vv = V is null ? v : cat([V, v], 2);
        var pe = KPe is null ? kPe : cat([KPe, kPe], 1);
        Dispose();
        KNope = k.detach().MoveToOuterDisposeScope();
        V = vv.detach().MoveToOuterDisposeScope();
        KPe = pe.detach().MoveToOuterDisposeScope();
        return (KNope, V, KPe);
    }

    public void Dispose()
    {
        KNope?.Dispose();
        V?.Dispose();
        KPe?.Dispose();
    }
}
