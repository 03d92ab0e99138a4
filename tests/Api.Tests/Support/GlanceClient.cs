using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Glance.Api.Tests.Support;

/// <summary>
/// A caller as the authenticating proxy would describe it (X-Project-Id, X-Roles, X-User-Id,
/// X-Identity-Status: Confirmed).
/// </summary>
public sealed record Persona(string Project, string Roles, string User, string Status = "Confirmed")
{
    /// <summary>A member of project p1.</summary>
    public static readonly Persona P1 = new("p1", "member", "user-p1");

    /// <summary>A member of project p2.</summary>
    public static readonly Persona P2 = new("p2", "member", "user-p2");

    /// <summary>An administrator (of its own project, which owns nothing the others create).</summary>
    public static readonly Persona Admin = new("p-admin", "admin,member", "user-admin");

    /// <summary>Adds the identity headers to a request.</summary>
    public void Apply(HttpRequestMessage request)
    {
        request.Headers.Add("X-Project-Id", Project);
        request.Headers.Add("X-Roles", Roles);
        request.Headers.Add("X-User-Id", User);
        request.Headers.Add("X-Identity-Status", Status);
    }
}

/// <summary>A response, read completely.</summary>
public sealed class ApiResponse(HttpResponseMessage message, string text)
{
    private JsonElement? _json;

    /// <summary>The status code.</summary>
    public HttpStatusCode Status => Message.StatusCode;

    /// <summary>The status code as a number.</summary>
    public int Code => (int)Message.StatusCode;

    /// <summary>The raw body.</summary>
    public string Text { get; } = text;

    /// <summary>The response message (headers).</summary>
    public HttpResponseMessage Message { get; } = message;

    /// <summary>The body as JSON; fails the test when it is not JSON.</summary>
    public JsonElement Json => _json ??= Parse();

    /// <summary>A response or content header's value(s) joined with ", "; null when absent.</summary>
    public string? Header(string name) =>
        Message.Headers.TryGetValues(name, out var values) ? string.Join(", ", values)
        : Message.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(", ", contentValues)
        : null;

    /// <summary>The media type of the body, if any.</summary>
    public string? MediaType => Message.Content.Headers.ContentType?.MediaType;

    /// <inheritdoc />
    public override string ToString() => $"{Code} {(Text.Length > 1500 ? Text[..1500] + "..." : Text)}";

    private JsonElement Parse()
    {
        try
        {
            using var document = JsonDocument.Parse(Text);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new Xunit.Sdk.XunitException($"Response {Code} is not JSON ({e.Message}): '{Text}'");
        }
    }
}

/// <summary>Requests against the Images API, as a given <see cref="Persona"/> (null: no identity headers).</summary>
public sealed class GlanceClient(HttpClient http)
{
    /// <summary>The v2.1 JSON-patch media type.</summary>
    public const string PatchV21 = "application/openstack-images-v2.1-json-patch";

    /// <summary>The v2.0 JSON-patch media type (the one tempest sends).</summary>
    public const string PatchV20 = "application/openstack-images-v2.0-json-patch";

    /// <summary>The underlying HttpClient.</summary>
    public HttpClient Http { get; } = http;

    /// <summary>Sends one request and reads the whole response.</summary>
    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, Persona? caller, HttpContent? content = null,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        caller?.Apply(request);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new ApiResponse(response, text);
    }

    /// <summary>GET.</summary>
    public Task<ApiResponse> GetAsync(string path, Persona? caller) => SendAsync(HttpMethod.Get, path, caller);

    /// <summary>DELETE.</summary>
    public Task<ApiResponse> DeleteAsync(string path, Persona? caller) => SendAsync(HttpMethod.Delete, path, caller);

    /// <summary>PUT with no body.</summary>
    public Task<ApiResponse> PutAsync(string path, Persona? caller) => SendAsync(HttpMethod.Put, path, caller);

    /// <summary>POST a JSON text (Content-Type application/json).</summary>
    public Task<ApiResponse> PostJsonAsync(string path, Persona? caller, string json) =>
        SendAsync(HttpMethod.Post, path, caller, Body(json, "application/json"));

    /// <summary>PUT a JSON text (Content-Type application/json).</summary>
    public Task<ApiResponse> PutJsonAsync(string path, Persona? caller, string json) =>
        SendAsync(HttpMethod.Put, path, caller, Body(json, "application/json"));

    /// <summary>PATCH with a JSON-patch document.</summary>
    public Task<ApiResponse> PatchAsync(string path, Persona? caller, string json, string? mediaType = PatchV21) =>
        SendAsync(HttpMethod.Patch, path, caller, Body(json, mediaType));

    /// <summary>POST /v2/images; asserts 201 and returns the image.</summary>
    public async Task<JsonElement> CreateImageAsync(Persona? caller, object? attributes = null)
    {
        var response = await PostJsonAsync("/v2/images", caller, Json(attributes ?? new { }));
        Expect.Status(response, 201);
        return response.Json;
    }

    /// <summary>GET /v2/images/{id}; asserts 200 and returns the image.</summary>
    public async Task<JsonElement> ShowImageAsync(string id, Persona? caller)
    {
        var response = await GetAsync($"/v2/images/{id}", caller);
        Expect.Status(response, 200);
        return response.Json;
    }

    /// <summary>GET /v2/images?query; asserts 200 and returns the ids in order.</summary>
    public async Task<List<string>> ListIdsAsync(Persona? caller, string query)
    {
        var response = await GetAsync("/v2/images?" + query, caller);
        Expect.Status(response, 200);
        return Ids(response.Json);
    }

    /// <summary>The ids of a list body, in order.</summary>
    public static List<string> Ids(JsonElement list) =>
        [.. list.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("id").GetString()!)];

    /// <summary>Serializes a value as JSON.</summary>
    public static string Json(object? value) => JsonSerializer.Serialize(value);

    /// <summary>A body with the given media type (none when null).</summary>
    public static HttpContent Body(string text, string? mediaType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        if (mediaType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        }
        return content;
    }

    /// <summary>A value no other test uses (for names, tags and the suite property).</summary>
    public static string Unique(string label = "t") => $"{label}-{Guid.NewGuid():N}";
}

/// <summary>Assertions on responses, with the body in every failure message.</summary>
public static class Expect
{
    private static readonly Dictionary<int, string> Titles = new()
    {
        [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
        [405] = "Method Not Allowed", [409] = "Conflict", [412] = "Precondition Failed", [413] = "Request Entity Too Large",
        [415] = "Unsupported Media Type", [431] = "Request Header Fields Too Large", [503] = "Service Unavailable",
    };

    /// <summary>Asserts the status code.</summary>
    public static ApiResponse Status(ApiResponse response, int expected)
    {
        Assert.True(response.Code == expected, $"expected {expected}, got {response}");
        return response;
    }

    /// <summary>
    /// Asserts an error in Glance's JSON shape: <c>{"message", "code": "404 Not Found", "title": "Not Found"}</c>,
    /// Content-Type application/json, and an OpenStack request id.
    /// </summary>
    public static ApiResponse Error(ApiResponse response, int expected)
    {
        Status(response, expected);
        Assert.Equal("application/json", response.MediaType);
        var json = response.Json;
        Assert.Equal(JsonValueKind.Object, json.ValueKind);
        var title = Titles[expected];
        Assert.False(string.IsNullOrWhiteSpace(json.GetProperty("message").GetString()), $"empty message: {response}");
        Assert.Equal($"{expected} {title}", json.GetProperty("code").GetString());
        Assert.Equal(title, json.GetProperty("title").GetString());
        RequestId(response);
        return response;
    }

    /// <summary>Asserts an <c>x-openstack-request-id: req-&lt;uuid&gt;</c> header and returns it.</summary>
    public static string RequestId(ApiResponse response)
    {
        var id = response.Header("x-openstack-request-id");
        Assert.NotNull(id);
        Assert.Matches("^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", id);
        return id;
    }

    /// <summary>A string property's value (fails when missing or not a string).</summary>
    public static string Str(JsonElement json, string name)
    {
        Assert.True(json.TryGetProperty(name, out var value), $"missing '{name}' in {json}");
        Assert.Equal(JsonValueKind.String, value.ValueKind);
        return value.GetString()!;
    }

    /// <summary>The image's tags, as a sorted list.</summary>
    public static List<string> Tags(JsonElement image) =>
        [.. image.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).Order(StringComparer.Ordinal)];
}
