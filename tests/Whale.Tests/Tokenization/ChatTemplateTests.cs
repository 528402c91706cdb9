using System.Text.Json;
using Whale.Tokenization;

namespace Whale.Tests.Tokenization;

public class ChatTemplateTests
{
    private const string DsBos = "<｜begin▁of▁sentence｜>";
    private const string DsEos = "<｜end▁of▁sentence｜>";

    // Published templates that are not among the shared files (test data, rendered with Python Jinja2 to get
    // the expected strings below).
    private const string R1Template = """
{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='', is_first_sp=true) %}{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%- else %}{% set ns.system_prompt = ns.system_prompt + '\n\n' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and 'tool_calls' in message %}{%- set ns.is_tool = false -%}{%- for tool in message['tool_calls'] %}{%- if not ns.is_first %}{%- if message['content'] is none %}{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n' + '```json' + '\n' + tool['function']['arguments'] + '\n' + '```' + '<｜tool▁call▁end｜>'}}{%- else %}{{'<｜Assistant｜>' + message['content'] + '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n' + '```json' + '\n' + tool['function']['arguments'] + '\n' + '```' + '<｜tool▁call▁end｜>'}}{%- endif %}{%- set ns.is_first = true -%}{%- else %}{{'\n' + '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n' + '```json' + '\n' + tool['function']['arguments'] + '\n' + '```' + '<｜tool▁call▁end｜>'}}{%- endif %}{%- endfor %}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}{%- endif %}{%- if message['role'] == 'assistant' and 'tool_calls' not in message %}{%- if ns.is_tool %}{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}{%- else %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{%- if ns.is_output_first %}{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- set ns.is_output_first = false %}{%- else %}{{'<｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- endif %}{%- endif %}{%- endfor -%}{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\n'}}{% endif %}
""";

    private const string Llama3Template = """
{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}
""";

    private const string DeepSeekV2Template = """
{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}
""";

    private static string Tokenizers => Path.Combine(TestPaths.Shared, "tokenizers");

    private static string TemplateFile(string name) =>
        File.ReadAllText(Path.Combine(Tokenizers, "llama.cpp-templates", name));

    private static string ConfigTemplate(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Tokenizers, dir, "tokenizer_config.json")));
        return doc.RootElement.GetProperty("chat_template").GetString()!;
    }

    /// <summary>Template id → (template text, bos, eos, expected kind).</summary>
    private static (string Text, string Bos, string Eos, ChatTemplateKind Kind) Template(string id) => id switch
    {
        "r1" => (R1Template, DsBos, DsEos, ChatTemplateKind.DeepSeekR1),
        "distill-llama" => (TemplateFile("deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja"), DsBos, DsEos, ChatTemplateKind.DeepSeekR1Distill),
        "distill-qwen" => (TemplateFile("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"), DsBos, DsEos, ChatTemplateKind.DeepSeekR1Distill),
        "distill-reformatted" => (TemplateFile("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.reformatted-ggml-org-2025.jinja"), DsBos, DsEos, ChatTemplateKind.DeepSeekR1Distill),
        "distill-config" => (ConfigTemplate("deepseek-r1-distill-qwen"), DsBos, DsEos, ChatTemplateKind.DeepSeekR1Distill),
        "v3" => (ConfigTemplate("deepseek-v3"), DsBos, DsEos, ChatTemplateKind.DeepSeekV3),
        "qwen2.5" => (TemplateFile("Qwen-Qwen2.5-7B-Instruct.jinja"), "", "<|im_end|>", ChatTemplateKind.Qwen2),
        "qwen2.5-config" => (ConfigTemplate("qwen2.5"), "", "<|im_end|>", ChatTemplateKind.Qwen2),
        "qwen3" => (ConfigTemplate("qwen3"), "", "<|im_end|>", ChatTemplateKind.Qwen3),
        "llama3" => (Llama3Template, "<|begin_of_text|>", "<|eot_id|>", ChatTemplateKind.Llama3),
        "v2" => (DeepSeekV2Template, DsBos, DsEos, ChatTemplateKind.DeepSeekV2),
        _ => throw new ArgumentException(id),
    };

    public static TheoryData<string> TemplateIds =>
        ["r1", "distill-llama", "distill-qwen", "distill-reformatted", "distill-config", "v3", "qwen2.5", "qwen2.5-config", "qwen3", "llama3", "v2"];

    [Theory]
    [MemberData(nameof(TemplateIds))]
    public void DetectsFamily(string id)
    {
        var (text, bos, eos, kind) = Template(id);
        Assert.Equal(kind, ChatTemplate.FromTemplateText(text, bos, eos).Kind);
    }

    [Theory]
    [InlineData("Qwen-Qwen2.5-7B-Instruct.jinja", ChatTemplateKind.Qwen2)]
    [InlineData("deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", ChatTemplateKind.DeepSeekR1Distill)]
    [InlineData("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", ChatTemplateKind.DeepSeekR1Distill)]
    [InlineData("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.reformatted-ggml-org-2025.jinja", ChatTemplateKind.DeepSeekR1Distill)]
    public void DetectsEveryLlamaCppTemplateFile(string file, ChatTemplateKind kind)
    {
        Assert.Equal(kind, ChatTemplate.FromTemplateText(TemplateFile(file), DsBos, DsEos).Kind);
    }

    [Fact]
    public void EveryTemplateFileHasAnExpectedKind()
    {
        // A new file dropped into llama.cpp-templates must be added to DetectsEveryLlamaCppTemplateFile.
        var files = Directory.GetFiles(Path.Combine(Tokenizers, "llama.cpp-templates"), "*.jinja")
            .Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(4, files.Length);
        foreach (var f in files)
            _ = ChatTemplate.FromTemplateText(TemplateFile(f!), DsBos, DsEos);
    }

    // ---- conversations (same as the Jinja2 generator's) ----

    private static ChatToolCall Call(string id, string name, string args) => new(id, name, args);

    private static IReadOnlyList<ChatMessage> Conversation(string name) => name switch
    {
        "spec" =>
        [
            ChatMessage.System("You are concise."), ChatMessage.User("Hi"),
            ChatMessage.Assistant("<think>\nGreet back.\n</think>\n\nHello!"), ChatMessage.User("2+2?"),
        ],
        "nosystem" =>
        [
            ChatMessage.User("Hi"), ChatMessage.Assistant("<think>\nGreet back.\n</think>\n\nHello!"), ChatMessage.User("2+2?"),
        ],
        "twosystems" =>
        [
            ChatMessage.System("A."), ChatMessage.User("Hi"), ChatMessage.System("B."),
            ChatMessage.Assistant("x</think>y</think>\n tail "), ChatMessage.User("  spaced  "),
        ],
        "tools" =>
        [
            ChatMessage.System("Use tools."), ChatMessage.User("Weather in Paris and Rome?"),
            ChatMessage.Assistant("") with
            {
                ToolCalls = [Call("c1", "get_weather", "{\"city\": \"Paris\"}"), Call("c2", "get_weather", "{\"city\": \"Rome\", \"unit\": \"°C\"}")],
            },
            ChatMessage.Tool("{\"temp\": 21}", "c1"), ChatMessage.Tool("{\"temp\": 25}", "c2"),
            ChatMessage.Assistant("<think>\nok\n</think>\n\nParis 21, Rome 25."), ChatMessage.User("And Oslo?"),
            ChatMessage.Assistant("") with { ToolCalls = [Call("c3", "get_weather", "{\"city\": \"Oslo\"}")] },
            ChatMessage.Tool("{\"temp\": 5}", "c3"),
        ],
        "toolwithtext" =>
        [
            ChatMessage.User("Time?"), ChatMessage.Assistant("Checking.") with { ToolCalls = [Call("c1", "now", "{}")] },
            ChatMessage.Tool("12:00", "c1"), ChatMessage.Assistant("Noon."),
        ],
        "qwen3think" =>
        [
            ChatMessage.User("Q1"), ChatMessage.Assistant("<think>\nr1\n</think>\n\nA1"), ChatMessage.User("Q2"),
            ChatMessage.Assistant("<think>\n\nr2\n\n</think>\n\nA2"),
        ],
        _ => throw new ArgumentException(name),
    };

    private static readonly string[] GenerationPromptConversations = ["spec", "nosystem", "tools", "toolwithtext"];

    /// <summary>"template/conversation" → the text Python Jinja2 renders from the real template (HF settings:
    /// trim_blocks, lstrip_blocks, tojson with ensure_ascii=False; Qwen2.5 tool arguments passed as objects the way
    /// llama.cpp passes them, DeepSeek ones as strings).</summary>
    private static readonly Dictionary<string, string> Expected = new()
    {
        ["r1/spec"] = "<｜begin▁of▁sentence｜>You are concise.<｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n",
        ["r1/nosystem"] = "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n",
        ["r1/twosystems"] = "<｜begin▁of▁sentence｜>A.\n\nB.<｜User｜>Hi<｜Assistant｜>\n tail <｜end▁of▁sentence｜><｜User｜>  spaced  ",
        ["r1/tools"] = "<｜begin▁of▁sentence｜>Use tools.<｜User｜>Weather in Paris and Rome?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Rome\", \"unit\": \"°C\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{\"temp\": 21}<｜tool▁output▁end｜><｜tool▁output▁begin｜>{\"temp\": 25}<｜tool▁output▁end｜><｜tool▁outputs▁end｜><think>\nok\n</think>\n\nParis 21, Rome 25.<｜end▁of▁sentence｜><｜User｜>And Oslo?\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Oslo\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁output▁begin｜>{\"temp\": 5}<｜tool▁output▁end｜><｜tool▁outputs▁end｜>",
        ["r1/toolwithtext"] = "<｜begin▁of▁sentence｜><｜User｜>Time?<｜Assistant｜>Checking.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>now\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>12:00<｜tool▁output▁end｜><｜tool▁outputs▁end｜>Noon.<｜end▁of▁sentence｜><｜Assistant｜><think>\n",
        ["r1/qwen3think"] = "<｜begin▁of▁sentence｜><｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜>\n\nA2<｜end▁of▁sentence｜>",
        ["distill-llama/spec"] = "<｜begin▁of▁sentence｜>You are concise.<｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n",
        ["distill-llama/nosystem"] = "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n",
        ["distill-llama/twosystems"] = "<｜begin▁of▁sentence｜>B.<｜User｜>Hi<｜Assistant｜>\n tail <｜end▁of▁sentence｜><｜User｜>  spaced  ",
        ["distill-llama/tools"] = "<｜begin▁of▁sentence｜>Use tools.<｜User｜>Weather in Paris and Rome?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Rome\", \"unit\": \"°C\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{\"temp\": 21}<｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>{\"temp\": 25}<｜tool▁output▁end｜><｜tool▁outputs▁end｜><think>\nok\n</think>\n\nParis 21, Rome 25.<｜end▁of▁sentence｜><｜User｜>And Oslo?\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Oslo\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>\n<｜tool▁output▁begin｜>{\"temp\": 5}<｜tool▁output▁end｜><｜tool▁outputs▁end｜>",
        ["distill-llama/toolwithtext"] = "<｜begin▁of▁sentence｜><｜User｜>Time?<｜Assistant｜>Checking.<｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>12:00<｜tool▁output▁end｜><｜tool▁outputs▁end｜>Noon.<｜end▁of▁sentence｜><｜Assistant｜><think>\n",
        ["distill-llama/qwen3think"] = "<｜begin▁of▁sentence｜><｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜>\n\nA2<｜end▁of▁sentence｜>",
        ["distill-qwen/spec"] = "<｜begin▁of▁sentence｜>You are concise.<｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n",
        ["distill-qwen/nosystem"] = "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n",
        ["distill-qwen/twosystems"] = "<｜begin▁of▁sentence｜>B.<｜User｜>Hi<｜Assistant｜>\n tail <｜end▁of▁sentence｜><｜User｜>  spaced  ",
        ["distill-qwen/tools"] = "<｜begin▁of▁sentence｜>Use tools.<｜User｜>Weather in Paris and Rome?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Rome\", \"unit\": \"°C\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{\"temp\": 21}<｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>{\"temp\": 25}<｜tool▁output▁end｜><｜tool▁outputs▁end｜><think>\nok\n</think>\n\nParis 21, Rome 25.<｜end▁of▁sentence｜><｜User｜>And Oslo?\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Oslo\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>\n<｜tool▁output▁begin｜>{\"temp\": 5}<｜tool▁output▁end｜><｜tool▁outputs▁end｜>",
        ["distill-qwen/toolwithtext"] = "<｜begin▁of▁sentence｜><｜User｜>Time?<｜Assistant｜>Checking.<｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>12:00<｜tool▁output▁end｜><｜tool▁outputs▁end｜>Noon.<｜end▁of▁sentence｜><｜Assistant｜><think>\n",
        ["distill-qwen/qwen3think"] = "<｜begin▁of▁sentence｜><｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜>\n\nA2<｜end▁of▁sentence｜>",
        ["distill-reformatted/spec"] = "<｜begin▁of▁sentence｜>You are concise.<｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n",
        ["distill-reformatted/nosystem"] = "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n",
        ["distill-reformatted/twosystems"] = "<｜begin▁of▁sentence｜>B.<｜User｜>Hi<｜Assistant｜>\n tail <｜end▁of▁sentence｜><｜User｜>  spaced  ",
        ["distill-reformatted/tools"] = "<｜begin▁of▁sentence｜>Use tools.<｜User｜>Weather in Paris and Rome?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Rome\", \"unit\": \"°C\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{\"temp\": 21}<｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>{\"temp\": 25}<｜tool▁output▁end｜><｜tool▁outputs▁end｜><think>\nok\n</think>\n\nParis 21, Rome 25.<｜end▁of▁sentence｜><｜User｜>And Oslo?\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Oslo\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>\n<｜tool▁output▁begin｜>{\"temp\": 5}<｜tool▁output▁end｜><｜tool▁outputs▁end｜>",
        ["distill-reformatted/toolwithtext"] = "<｜begin▁of▁sentence｜><｜User｜>Time?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>now\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜Assistant｜>Checking.<｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>12:00<｜tool▁output▁end｜><｜tool▁outputs▁end｜>Noon.<｜end▁of▁sentence｜><｜Assistant｜><think>\n",
        ["distill-reformatted/qwen3think"] = "<｜begin▁of▁sentence｜><｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜>\n\nA2<｜end▁of▁sentence｜>",
        ["v3/spec"] = "<｜begin▁of▁sentence｜>You are concise.<｜User｜>Hi<｜Assistant｜><think>\nGreet back.\n</think>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜>",
        ["v3/nosystem"] = "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>\nGreet back.\n</think>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜>",
        ["v3/twosystems"] = "<｜begin▁of▁sentence｜>A.\n\nB.<｜User｜>Hi<｜Assistant｜>x</think>y</think>\n tail <｜end▁of▁sentence｜><｜User｜>  spaced  ",
        ["v3/tools"] = "<｜begin▁of▁sentence｜>Use tools.<｜User｜>Weather in Paris and Rome?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Rome\", \"unit\": \"°C\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{\"temp\": 21}<｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>{\"temp\": 25}<｜tool▁output▁end｜><｜tool▁outputs▁end｜><think>\nok\n</think>\n\nParis 21, Rome 25.<｜end▁of▁sentence｜><｜User｜>And Oslo?\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Oslo\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>\n<｜tool▁output▁begin｜>{\"temp\": 5}<｜tool▁output▁end｜><｜tool▁outputs▁end｜>",
        ["v3/toolwithtext"] = "<｜begin▁of▁sentence｜><｜User｜>Time?<｜Assistant｜>Checking.<｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>12:00<｜tool▁output▁end｜><｜tool▁outputs▁end｜>Noon.<｜end▁of▁sentence｜><｜Assistant｜>",
        ["v3/qwen3think"] = "<｜begin▁of▁sentence｜><｜User｜>Q1<｜Assistant｜><think>\nr1\n</think>\n\nA1<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜><think>\n\nr2\n\n</think>\n\nA2<｜end▁of▁sentence｜>",
        ["qwen2.5/spec"] = "<|im_start|>system\nYou are concise.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nGreet back.\n</think>\n\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
        ["qwen2.5/nosystem"] = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nGreet back.\n</think>\n\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
        ["qwen2.5/twosystems"] = "<|im_start|>system\nA.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>system\nB.<|im_end|>\n<|im_start|>assistant\nx</think>y</think>\n tail <|im_end|>\n<|im_start|>user\n  spaced  <|im_end|>\n",
        ["qwen2.5/tools"] = "<|im_start|>system\nUse tools.<|im_end|>\n<|im_start|>user\nWeather in Paris and Rome?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\", \"unit\": \"°C\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response>\n<tool_response>\n{\"temp\": 25}\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\nok\n</think>\n\nParis 21, Rome 25.<|im_end|>\n<|im_start|>user\nAnd Oslo?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": 5}\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
        ["qwen2.5/toolwithtext"] = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nTime?<|im_end|>\n<|im_start|>assistant\nChecking.\n<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n12:00\n</tool_response><|im_end|>\n<|im_start|>assistant\nNoon.<|im_end|>\n<|im_start|>assistant\n",
        ["qwen2.5/qwen3think"] = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n<think>\nr1\n</think>\n\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n<think>\n\nr2\n\n</think>\n\nA2<|im_end|>\n",
        ["qwen3/spec"] = "<|im_start|>system\nYou are concise.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
        ["qwen3/nosystem"] = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
        ["qwen3/twosystems"] = "<|im_start|>system\nA.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>system\nB.<|im_end|>\n<|im_start|>assistant\n tail <|im_end|>\n<|im_start|>user\n  spaced  <|im_end|>\n",
        ["qwen3/tools"] = "<|im_start|>system\nUse tools.<|im_end|>\n<|im_start|>user\nWeather in Paris and Rome?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\", \"unit\": \"°C\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response>\n<tool_response>\n{\"temp\": 25}\n</tool_response><|im_end|>\n<|im_start|>assistant\nParis 21, Rome 25.<|im_end|>\n<|im_start|>user\nAnd Oslo?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": 5}\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
        ["qwen3/toolwithtext"] = "<|im_start|>user\nTime?<|im_end|>\n<|im_start|>assistant\nChecking.\n<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n12:00\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nNoon.<|im_end|>\n<|im_start|>assistant\n",
        ["qwen3/qwen3think"] = "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n<think>\nr2\n</think>\n\nA2<|im_end|>\n",
        ["llama3/spec"] = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are concise.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<think>\nGreet back.\n</think>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        ["llama3/nosystem"] = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<think>\nGreet back.\n</think>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        ["llama3/twosystems"] = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nA.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>system<|end_header_id|>\n\nB.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nx</think>y</think>\n tail<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nspaced<|eot_id|>",
        ["llama3/toolwithtext"] = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nTime?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nChecking.<|eot_id|><|start_header_id|>tool<|end_header_id|>\n\n12:00<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nNoon.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        ["llama3/qwen3think"] = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nQ1<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<think>\nr1\n</think>\n\nA1<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nQ2<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<think>\n\nr2\n\n</think>\n\nA2<|eot_id|>",
        ["v2/spec"] = "<｜begin▁of▁sentence｜>You are concise.\n\nUser: Hi\n\nAssistant: <think>\nGreet back.\n</think>\n\nHello!<｜end▁of▁sentence｜>User: 2+2?\n\nAssistant:",
        ["v2/nosystem"] = "<｜begin▁of▁sentence｜>User: Hi\n\nAssistant: <think>\nGreet back.\n</think>\n\nHello!<｜end▁of▁sentence｜>User: 2+2?\n\nAssistant:",
        ["v2/twosystems"] = "<｜begin▁of▁sentence｜>A.\n\nUser: Hi\n\nB.\n\nAssistant: x</think>y</think>\n tail <｜end▁of▁sentence｜>User:   spaced  \n\n",
        ["v2/toolwithtext"] = "<｜begin▁of▁sentence｜>User: Time?\n\nAssistant: Checking.<｜end▁of▁sentence｜>Assistant: Noon.<｜end▁of▁sentence｜>Assistant:",
        ["v2/qwen3think"] = "<｜begin▁of▁sentence｜>User: Q1\n\nAssistant: <think>\nr1\n</think>\n\nA1<｜end▁of▁sentence｜>User: Q2\n\nAssistant: <think>\n\nr2\n\n</think>\n\nA2<｜end▁of▁sentence｜>",
    };

    public static TheoryData<string> ExpectedCases => new(Expected.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(ExpectedCases))]
    public void RendersLikeJinja(string key)
    {
        var (templateId, conversation) = (key[..key.IndexOf('/', StringComparison.Ordinal)], key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..]);
        var (text, bos, eos, _) = Template(templateId);
        var template = ChatTemplate.FromTemplateText(text, bos, eos);
        bool addGenerationPrompt = GenerationPromptConversations.Contains(conversation);
        Assert.Equal(Expected[key], template.Render(Conversation(conversation), addGenerationPrompt));
    }

    [Theory]
    [InlineData("distill-config", "distill-qwen")]
    [InlineData("qwen2.5-config", "qwen2.5")]
    public void ConfigTemplatesRenderLikeTheirFiles(string configId, string fileId)
    {
        foreach (var conv in new[] { "spec", "nosystem", "twosystems", "tools", "toolwithtext" })
        {
            var (text, bos, eos, _) = Template(configId);
            var t = ChatTemplate.FromTemplateText(text, bos, eos);
            Assert.Equal(Expected[fileId + "/" + conv], t.Render(Conversation(conv), GenerationPromptConversations.Contains(conv)));
        }
    }

    [Fact]
    public void SpecExampleR1()
    {
        var t = ChatTemplate.FromName("deepseek-r1", DsBos, DsEos);
        Assert.Equal(
            "<｜begin▁of▁sentence｜>You are concise.<｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>\n",
            t.Render(Conversation("spec"), addGenerationPrompt: true));
        Assert.StartsWith("<｜begin▁of▁sentence｜><｜User｜>Hi", t.Render(Conversation("nosystem"), true), StringComparison.Ordinal);
    }

    public static TheoryData<string> VectorFiles => ["deepseek-r1-distill-qwen", "deepseek-v3", "qwen2.5"];

    [Theory]
    [MemberData(nameof(VectorFiles))]
    public void RendersReferenceVectorChat(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Tokenizers, "vectors", name + ".ref.json")));
        var chat = doc.RootElement.GetProperty("chat");
        var messages = chat.GetProperty("messages").EnumerateArray()
            .Select(m => new ChatMessage(ParseRole(m.GetProperty("role").GetString()!), m.GetProperty("content").GetString()!))
            .ToList();
        string bos = name == "qwen2.5" ? "" : DsBos;
        var template = ChatTemplate.FromTemplateText(ConfigTemplate(name), bos, DsEos);
        Assert.Equal(chat.GetProperty("prompt").GetString(), template.Render(messages, chat.GetProperty("add_generation_prompt").GetBoolean()));
    }

    private static ChatRole ParseRole(string role) => role switch
    {
        "system" => ChatRole.System,
        "user" => ChatRole.User,
        "assistant" => ChatRole.Assistant,
        "tool" => ChatRole.Tool,
        _ => throw new ArgumentException(role),
    };

    [Theory]
    [InlineData("deepseek-r1", ChatTemplateKind.DeepSeekR1, true)]
    [InlineData("DeepSeek-R1-Distill", ChatTemplateKind.DeepSeekR1Distill, true)]
    [InlineData("deepseek3", ChatTemplateKind.DeepSeekV3, false)]
    [InlineData("deepseek-v3", ChatTemplateKind.DeepSeekV3, false)]
    [InlineData("deepseek2", ChatTemplateKind.DeepSeekV2, false)]
    [InlineData("chatml", ChatTemplateKind.Qwen2, false)]
    [InlineData("qwen2", ChatTemplateKind.Qwen2, false)]
    [InlineData("qwen3", ChatTemplateKind.Qwen3, false)]
    [InlineData("llama3", ChatTemplateKind.Llama3, false)]
    public void FromNameGivesKind(string name, ChatTemplateKind kind, bool opensThinking)
    {
        var t = ChatTemplate.FromName(name, DsBos, DsEos);
        Assert.Equal(kind, t.Kind);
        Assert.Equal(opensThinking, t.GenerationPromptOpensThinking);
    }

    [Theory]
    [InlineData("r1")]
    [InlineData("distill-llama")]
    [InlineData("distill-qwen")]
    [InlineData("distill-reformatted")]
    [InlineData("v3")]
    [InlineData("qwen2.5")]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    [InlineData("v2")]
    public void NamedTemplateMatchesDetectedOne(string id)
    {
        var (text, bos, eos, _) = Template(id);
        var detected = ChatTemplate.FromTemplateText(text, bos, eos);
        var named = ChatTemplate.FromName(detected.Name, bos, eos);
        Assert.Equal(detected.Kind, named.Kind);
        foreach (var conv in new[] { "spec", "nosystem", "twosystems", "qwen3think" })
            Assert.Equal(detected.Render(Conversation(conv), true), named.Render(Conversation(conv), true));
    }

    [Fact]
    public void NamedChatMlHasNoDefaultSystemPrompt()
    {
        var t = ChatTemplate.FromName("chatml", "", "");
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", t.Render([ChatMessage.User("Hi")], true));
        var q = ChatTemplate.FromName("qwen2", "", "");
        Assert.StartsWith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n",
            q.Render([ChatMessage.User("Hi")], true), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% for m in messages %}{{ m['content'] }}{% endfor %}")]
    [InlineData("[INST] {{ message }} [/INST]")]
    [InlineData("")]
    [InlineData(null)]
    public void UnknownTemplateThrowsWithHint(string? text)
    {
        var ex = Assert.Throws<NotSupportedException>(() => ChatTemplate.FromTemplateText(text, DsBos, DsEos));
        Assert.Contains("--chat-template", ex.Message, StringComparison.Ordinal);
        Assert.Contains("deepseek-r1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownNameThrowsListingNames()
    {
        var ex = Assert.Throws<NotSupportedException>(() => ChatTemplate.FromName("vicuna", DsBos, DsEos));
        foreach (var n in ChatTemplate.KnownNames)
            Assert.Contains(n, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("deepseek-r1", true)]
    [InlineData("deepseek-r1-distill", true)]
    [InlineData("deepseek3", false)]
    public void OldReasoningIsStrippedOnlyByReasoningTemplates(string name, bool stripped)
    {
        var t = ChatTemplate.FromName(name, DsBos, DsEos);
        string text = t.Render(
            [ChatMessage.User("a"), ChatMessage.Assistant("<think>\nsecret one\n</think>\n\nB<think>again</think>C"), ChatMessage.User("d")],
            addGenerationPrompt: false);
        Assert.Equal(!stripped, text.Contains("secret", StringComparison.Ordinal));
        Assert.Equal(!stripped, text.Contains("again", StringComparison.Ordinal));
        Assert.Contains(stripped ? "<｜Assistant｜>C<｜end▁of▁sentence｜>" : "again</think>C<｜end▁of▁sentence｜>", text, StringComparison.Ordinal);
    }

    [Fact]
    public void R1JoinsSystemsAndDistillKeepsLast()
    {
        IReadOnlyList<ChatMessage> msgs = [ChatMessage.System("one"), ChatMessage.System("two"), ChatMessage.User("u")];
        Assert.Equal(DsBos + "one\n\ntwo<｜User｜>u", ChatTemplate.FromName("deepseek-r1", DsBos, DsEos).Render(msgs, false));
        Assert.Equal(DsBos + "two<｜User｜>u", ChatTemplate.FromName("deepseek-r1-distill", DsBos, DsEos).Render(msgs, false));
    }

    [Fact]
    public void OldR1TemplateWithoutThinkInPromptIsStillR1()
    {
        string old = R1Template.Replace("{{'<｜Assistant｜><think>\\n'}}", "{{'<｜Assistant｜>'}}", StringComparison.Ordinal);
        Assert.NotEqual(R1Template, old);
        var t = ChatTemplate.FromTemplateText(old, DsBos, DsEos);
        Assert.Equal(ChatTemplateKind.DeepSeekR1, t.Kind);
        Assert.False(t.GenerationPromptOpensThinking);
        Assert.EndsWith("<｜User｜>2+2?<｜Assistant｜>", t.Render(Conversation("spec"), true), StringComparison.Ordinal);
    }

    [Fact]
    public void Qwen25ToolArgumentsAreDumpedPythonStyle()
    {
        var t = ChatTemplate.FromName("qwen2", "", "");
        var msg = ChatMessage.Assistant("") with { ToolCalls = [Call("x", "f", "{\"a\":1,\"b\":[true,null,\"é\\n\"],\"c\":{}}")] };
        Assert.Contains("{\"name\": \"f\", \"arguments\": {\"a\": 1, \"b\": [true, null, \"é\\n\"], \"c\": {}}}",
            t.Render([ChatMessage.User("u"), msg], false), StringComparison.Ordinal);
    }
}
