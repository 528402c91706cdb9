using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Whale.Server.Conversations;

/// <summary>
/// The chat page's conversations in SQLite: one file (or an in-memory database that lives as long as the store).
/// Every call names the owner (a hash of the API key, "" without keys); another owner's conversation is "not found".
/// Connections are opened per call (pooled), so the store is safe to use from many requests at once.
/// </summary>
internal sealed class ConversationStore : IDisposable
{
    private readonly string _connectionString;
    private readonly SqliteConnection? _keepAlive;

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/>; null = in memory.</summary>
    public ConversationStore(string? path)
    {
        if (path is null)
        {
            _connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = "whale-" + Guid.NewGuid().ToString("N"),
                Mode = SqliteOpenMode.Memory,
                Cache = SqliteCacheMode.Shared,
            }.ToString();
            _keepAlive = new SqliteConnection(_connectionString);
            _keepAlive.Open();
        }
        else
        {
            string full = Path.GetFullPath(path);
            if (Path.GetDirectoryName(full) is { } dir) Directory.CreateDirectory(dir);
            _connectionString = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
        }
        using var c = Open();
        if (path is not null) Exec(c, "PRAGMA journal_mode=WAL;");
        Exec(c, """
            CREATE TABLE IF NOT EXISTS conversations(
              id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, model TEXT,
              settings TEXT NOT NULL DEFAULT '{}', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS conversations_owner ON conversations(owner, updated_at DESC);
            CREATE TABLE IF NOT EXISTS messages(
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
              role TEXT NOT NULL, content TEXT NOT NULL, reasoning TEXT, meta TEXT, created_at INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS messages_conversation ON messages(conversation_id, id);
            """);
    }

    /// <summary>The owner's conversations, most recently updated first; <paramref name="search"/> filters titles
    /// (case-insensitive substring).</summary>
    public List<ConversationSummary> List(string owner, string? search, int limit = 500)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT c.id, c.title, c.model, c.created_at, c.updated_at, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)
            FROM conversations c WHERE c.owner = $owner AND ($q IS NULL OR instr(lower(c.title), lower($q)) > 0)
            ORDER BY c.updated_at DESC, c.rowid DESC LIMIT $limit
            """;
        cmd.Parameters.AddWithValue("$owner", owner);
        cmd.Parameters.AddWithValue("$q", string.IsNullOrEmpty(search) ? DBNull.Value : search);
        cmd.Parameters.AddWithValue("$limit", limit);
        using var r = cmd.ExecuteReader();
        var list = new List<ConversationSummary>();
        while (r.Read())
            list.Add(new ConversationSummary(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt32(5)));
        return list;
    }

    public StoredConversation Create(string owner, string title, string? model, string settings)
    {
        string id = Guid.NewGuid().ToString("N");
        long now = Now();
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO conversations(id, owner, title, model, settings, created_at, updated_at) VALUES ($id, $owner, $title, $model, $settings, $now, $now)";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$owner", owner);
        cmd.Parameters.AddWithValue("$title", title);
        cmd.Parameters.AddWithValue("$model", (object?)model ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$settings", settings);
        cmd.Parameters.AddWithValue("$now", now);
        cmd.ExecuteNonQuery();
        return new StoredConversation(id, title, model, settings, now, now, []);
    }

    /// <summary>The conversation with its messages, or null when it does not exist or belongs to someone else.</summary>
    public StoredConversation? Get(string owner, string id)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT title, model, settings, created_at, updated_at FROM conversations WHERE id = $id AND owner = $owner";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$owner", owner);
        string title, settings;
        string? model;
        long created, updated;
        using (var r = cmd.ExecuteReader())
        {
            if (!r.Read()) return null;
            (title, model, settings, created, updated) = (r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4));
        }
        using var m = c.CreateCommand();
        m.CommandText = "SELECT id, role, content, reasoning, meta, created_at FROM messages WHERE conversation_id = $id ORDER BY id";
        m.Parameters.AddWithValue("$id", id);
        var messages = new List<StoredMessage>();
        using (var r = m.ExecuteReader())
            while (r.Read())
                messages.Add(new StoredMessage(r.GetInt64(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetInt64(5)));
        return new StoredConversation(id, title, model, settings, created, updated, messages);
    }

    /// <summary>Changes the given fields (null = unchanged); false when not found.</summary>
    public bool Update(string owner, string id, string? title, string? model, string? settings)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            UPDATE conversations SET title = COALESCE($title, title), model = COALESCE($model, model),
              settings = COALESCE($settings, settings), updated_at = $now WHERE id = $id AND owner = $owner
            """;
        cmd.Parameters.AddWithValue("$title", (object?)title ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$model", (object?)model ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$settings", (object?)settings ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$now", Now());
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$owner", owner);
        return cmd.ExecuteNonQuery() == 1;
    }

    public bool Delete(string owner, string id)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            DELETE FROM messages WHERE conversation_id = (SELECT id FROM conversations WHERE id = $id AND owner = $owner);
            DELETE FROM conversations WHERE id = $id AND owner = $owner;
            """;
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$owner", owner);
        int n = cmd.ExecuteNonQuery();
        tx.Commit();
        return n > 0;
    }

    /// <summary>Appends a message; null when the conversation is not found.</summary>
    public StoredMessage? AddMessage(string owner, string id, string role, string content, string? reasoning, string? meta)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        long now = Now();
        using var touch = c.CreateCommand();
        touch.Transaction = tx;
        touch.CommandText = "UPDATE conversations SET updated_at = $now WHERE id = $id AND owner = $owner";
        touch.Parameters.AddWithValue("$now", now);
        touch.Parameters.AddWithValue("$id", id);
        touch.Parameters.AddWithValue("$owner", owner);
        if (touch.ExecuteNonQuery() != 1) return null;
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO messages(conversation_id, role, content, reasoning, meta, created_at) VALUES ($id, $role, $content, $reasoning, $meta, $now) RETURNING id";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$role", role);
        cmd.Parameters.AddWithValue("$content", content);
        cmd.Parameters.AddWithValue("$reasoning", (object?)reasoning ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$meta", (object?)meta ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$now", now);
        long messageId = Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        tx.Commit();
        return new StoredMessage(messageId, role, content, reasoning, meta, now);
    }

    /// <summary>Deletes the messages from <paramref name="fromMessageId"/> on (edit, regenerate); null when the
    /// conversation is not found, else how many were deleted.</summary>
    public int? Truncate(string owner, string id, long fromMessageId)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        using var touch = c.CreateCommand();
        touch.Transaction = tx;
        touch.CommandText = "UPDATE conversations SET updated_at = $now WHERE id = $id AND owner = $owner";
        touch.Parameters.AddWithValue("$now", Now());
        touch.Parameters.AddWithValue("$id", id);
        touch.Parameters.AddWithValue("$owner", owner);
        if (touch.ExecuteNonQuery() != 1) return null;
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM messages WHERE conversation_id = $id AND id >= $from";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$from", fromMessageId);
        int n = cmd.ExecuteNonQuery();
        tx.Commit();
        return n;
    }

    public void Dispose()
    {
        if (_keepAlive is not null) _keepAlive.Dispose();
        else
        {
            using var c = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(c);
        }
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Exec(c, "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;");
        return c;
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
