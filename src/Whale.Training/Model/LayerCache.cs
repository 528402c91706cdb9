using static TorchSharp.torch;

namespace Whale.Training.Model;

/// <summary>Keys and values of the positions seen so far by one attention layer (sampling only; training recomputes).</summary>
public sealed class LayerCache : IDisposable
{
    // storage with room to grow (doubled when full), so appending a position copies only that position
    private Tensor? _k, _v, _pe;

    public Tensor? KNope { get; private set; }  // [B, H, S, Dn], a view of the storage
    public Tensor? V { get; private set; }      // [B, H, S, Dv]
    public Tensor? KPe { get; private set; }    // [B, S, Dr]

    public int Length { get; private set; }

    /// <summary>
    /// Key positions no query may attend to, [B, S'] with S' at least the cached length (true = padding), for batches of
    /// left-padded prompts; null when every position is real. Owned by the caller (one tensor for all layers).
    /// </summary>
    public Tensor? Padding { get; set; }

    /// <summary>Appends the new positions and returns the full keys/values.</summary>
    public (Tensor KNope, Tensor V, Tensor KPe) Append(Tensor kNope, Tensor v, Tensor kPe)
    {
        using var _ = no_grad();
        int t = (int)kNope.shape[2], need = Length + t;
        if (_k is null || need > _k.shape[2])
        {
            long cap = Math.Max(need, 2 * (_k?.shape[2] ?? 32));
            var k = zeros([kNope.shape[0], kNope.shape[1], cap, kNope.shape[3]]);
            var vv = zeros([v.shape[0], v.shape[1], cap, v.shape[3]]);
            var pe = zeros([kPe.shape[0], cap, kPe.shape[2]]);
            if (_k is not null)
            {
                k.narrow(2, 0, Length).copy_(KNope!);
                vv.narrow(2, 0, Length).copy_(V!);
                pe.narrow(1, 0, Length).copy_(KPe!);
            }
            Dispose();
            _k = k.MoveToOuterDisposeScope();
            _v = vv.MoveToOuterDisposeScope();
            _pe = pe.MoveToOuterDisposeScope();
        }
        _k.narrow(2, Length, t).copy_(kNope);
        _v!.narrow(2, Length, t).copy_(v);
        _pe!.narrow(1, Length, t).copy_(kPe);
        Length = need;
        KNope?.Dispose();
        V?.Dispose();
        KPe?.Dispose();
        KNope = _k.narrow(2, 0, Length).MoveToOuterDisposeScope();
        V = _v.narrow(2, 0, Length).MoveToOuterDisposeScope();
        KPe = _pe.narrow(1, 0, Length).MoveToOuterDisposeScope();
        return (KNope, V, KPe);
    }

    /// <summary>Keeps only the given batch rows (ids [B'] into the current rows), e.g. when the others finished.</summary>
    public void KeepRows(Tensor rows)
    {
        using var _ = no_grad();
        if (_k is null) return;
        var k = _k.index_select(0, rows).MoveToOuterDisposeScope();
        var v = _v!.index_select(0, rows).MoveToOuterDisposeScope();
        var pe = _pe!.index_select(0, rows).MoveToOuterDisposeScope();
        int length = Length;
        Dispose();
        (_k, _v, _pe, Length) = (k, v, pe, length);
        KNope = _k.narrow(2, 0, Length).MoveToOuterDisposeScope();
        V = _v.narrow(2, 0, Length).MoveToOuterDisposeScope();
        KPe = _pe.narrow(1, 0, Length).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        KNope?.Dispose();
        V?.Dispose();
        KPe?.Dispose();
        _k?.Dispose();
        _v?.Dispose();
        _pe?.Dispose();
        KNope = V = KPe = _k = _v = _pe = null;
    }
}
