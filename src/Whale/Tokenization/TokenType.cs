namespace Whale.Tokenization;

/// <summary>GGUF token types (<c>tokenizer.ggml.token_type</c>), numbered as llama.cpp numbers them.</summary>
public enum TokenType
{
    /// <summary>No type given.</summary>
    Undefined = 0,
    /// <summary>An ordinary vocabulary entry.</summary>
    Normal = 1,
    /// <summary>The unknown token.</summary>
    Unknown = 2,
    /// <summary>A control token (BOS, EOS, chat markers): never produced from text unless special parsing is on, rendered empty by default.</summary>
    Control = 3,
    /// <summary>A user-defined (added, non-special) token: always matched in text, rendered as its raw text.</summary>
    UserDefined = 4,
    /// <summary>A placeholder id nothing maps to.</summary>
    Unused = 5,
    /// <summary>A SentencePiece byte token <c>&lt;0xNN&gt;</c>.</summary>
    Byte = 6,
}
