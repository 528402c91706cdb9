namespace Whale.Training.Data;

/// <summary>A tokenized training example: ids and, per id, whether the loss counts the prediction of that id.</summary>
/// <param name="Ids">Token ids (BOS first).</param>
/// <param name="Trained">True for ids the model is trained to predict (completion ids in SFT; all in pretraining).</param>
/// <param name="PromptLength">Number of prompt ids (the completion starts there).</param>
public sealed record Encoded(int[] Ids, bool[] Trained, int PromptLength);
