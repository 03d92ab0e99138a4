using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Glance.Cluster.Tests.Support;

/// <summary>The Images API calls the cluster tests make, against one API node (the default identity: admin).</summary>
public sealed class ImagesHttp(Uri baseAddress) : IDisposable
{
    /// <summary>A request that takes longer than this is a hang (the service's own bounds are shorter).</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(40);

    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, UseCookies = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
    {
        BaseAddress = baseAddress,
        Timeout = RequestTimeout,
    };

    /// <summary>The node's URL.</summary>
    public Uri BaseAddress => baseAddress;

    /// <summary>POST /v2/images; the new id when 201.</summary>
    public async Task<(HttpStatusCode Status, Guid? Id, string Body)> CreateAsync(string name)
    {
        using var response = await _http.PostAsync("/v2/images", Json(new { name, disk_format = "raw", container_format = "bare" }));
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.StatusCode == HttpStatusCode.Created ? Guid.Parse(JsonNode.Parse(body)!["id"]!.GetValue<string>()) : null, body);
    }

    /// <summary>POST /v2/images with a client-chosen <paramref name="id"/> (the API takes an "id" attribute, as Glance does): status and body.</summary>
    public async Task<(HttpStatusCode Status, string Body)> CreateWithIdAsync(Guid id, string name)
    {
        using var response = await _http.PostAsync("/v2/images", Json(new { id = id.ToString(), name, disk_format = "raw", container_format = "bare" }));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>PATCH replace /name.</summary>
    public Task<HttpStatusCode> RenameAsync(Guid id, string name) => ReplaceAsync(id, "name", name);

    /// <summary>PATCH replace /<paramref name="attribute"/>.</summary>
    public async Task<HttpStatusCode> ReplaceAsync(Guid id, string attribute, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/v2/images/{id}")
        {
            Content = new StringContent(JsonSerializer.Serialize(new[] { new { op = "replace", path = "/" + attribute, value } }), Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/openstack-images-v2.1-json-patch");
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>PUT /file with <paramref name="data"/>, or with <paramref name="content"/> when given.</summary>
    public async Task<HttpStatusCode> UploadAsync(Guid id, byte[] data, HttpContent? content = null, CancellationToken cancellationToken = default)
    {
        content ??= new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.PutAsync($"/v2/images/{id}/file", content, cancellationToken);
        return response.StatusCode;
    }

    /// <summary>PUT /file with <paramref name="data"/>: status and body (an error's JSON).</summary>
    public async Task<(HttpStatusCode Status, string Body)> UploadWithBodyAsync(Guid id, byte[] data)
    {
        using var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.PutAsync($"/v2/images/{id}/file", content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>GET /file: the status and the md5 of what came (hex), streamed.</summary>
    public async Task<(HttpStatusCode Status, string? Md5)> DownloadMd5Async(Guid id)
    {
        using var response = await _http.GetAsync($"/v2/images/{id}/file", HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return (response.StatusCode, null);
        }
        await using var stream = await response.Content.ReadAsStreamAsync();
        return (response.StatusCode, Convert.ToHexStringLower(await MD5.HashDataAsync(stream)));
    }

    /// <summary>DELETE /v2/images/{id}.</summary>
    public async Task<HttpStatusCode> DeleteAsync(Guid id)
    {
        using var response = await _http.DeleteAsync($"/v2/images/{id}");
        return response.StatusCode;
    }

    /// <summary>GET /v2/images/{id}: status and the image (null unless 200).</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Image, string Body)> GetAsync(Guid id)
    {
        using var response = await _http.GetAsync($"/v2/images/{id}");
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(body) : null, body);
    }

    /// <summary>GET <paramref name="path"/>: status and body.</summary>
    public async Task<(HttpStatusCode Status, string Body)> GetTextAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>POST a JSON body (status and body).</summary>
    public async Task<(HttpStatusCode Status, string Body)> PostJsonAsync(string path, object body)
    {
        using var response = await _http.PostAsync(path, Json(body));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>One page of GET /v2/images (status and body).</summary>
    public async Task<(HttpStatusCode Status, string Body)> ListPageAsync(string query = "limit=20")
    {
        using var response = await _http.GetAsync($"/v2/images?{query}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Every image id the default list shows, following <c>next</c> links.</summary>
    public async Task<List<Guid>> ListAllAsync()
    {
        var ids = new List<Guid>();
        string? next = "/v2/images?limit=1000";
        while (next is not null)
        {
            using var response = await _http.GetAsync(next);
            response.EnsureSuccessStatusCode();
            var page = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            ids.AddRange(page["images"]!.AsArray().Select(i => Guid.Parse(i!["id"]!.GetValue<string>())));
            next = page["next"]?.GetValue<string>();
        }
        return ids;
    }

    /// <summary>
    /// Every image the default list shows, with its status as the list has it, following <c>next</c> links.
    /// The list reads the catalog shards only: it activates no image grain.
    /// </summary>
    public async Task<Dictionary<Guid, string>> ListAllStatusesAsync()
    {
        var statuses = new Dictionary<Guid, string>();
        string? next = "/v2/images?limit=1000";
        while (next is not null)
        {
            using var response = await _http.GetAsync(next);
            response.EnsureSuccessStatusCode();
            var page = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            foreach (var image in page["images"]!.AsArray())
            {
                statuses[Guid.Parse(image!["id"]!.GetValue<string>())] = image["status"]!.GetValue<string>();
            }
            next = page["next"]?.GetValue<string>();
        }
        return statuses;
    }

    /// <summary>
    /// After an outage: every create attempted (by the id its client chose) is whole, readable and
    /// listed, or absent, 404 and not listed; one answered 201 is whole. Asked again for up to
    /// <paramref name="settle"/> (an entry a create published late may still be on its way); the
    /// ids that are neither, with what they show.
    /// </summary>
    public async Task<List<string>> HalfWrittenAsync(IReadOnlyCollection<(Guid Id, HttpStatusCode Status)> attempted, TimeSpan settle)
    {
        var halfWritten = new List<string>();
        for (var watch = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(500))
        {
            var listed = (await ListAllAsync()).ToHashSet();
            halfWritten.Clear();
            foreach (var (id, createStatus) in attempted)
            {
                var (getStatus, _, getBody) = await GetAsync(id);
                var whole = getStatus == HttpStatusCode.OK && listed.Contains(id);
                var absent = getStatus == HttpStatusCode.NotFound && !listed.Contains(id);
                if (!(createStatus == HttpStatusCode.Created ? whole : whole || absent))
                {
                    halfWritten.Add($"{id}: create answered {(int)createStatus}; now GET {(int)getStatus} {getBody}, {(listed.Contains(id) ? "" : "not ")}listed");
                }
            }
            if (halfWritten.Count == 0 || watch.Elapsed > settle)
            {
                return halfWritten;
            }
        }
    }

    public void Dispose() => _http.Dispose();

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");
}
