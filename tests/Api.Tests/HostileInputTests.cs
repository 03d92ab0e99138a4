using System.Net.Sockets;
using System.Text;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Regression tests for what a hostile (or merely careless) tenant sent and got a 500, an
/// unbounded allocation or another project's data for (issue 8): each case names its defect.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class HostileInputTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    /// <summary>A body the client sends without a length (HttpClient then sends it chunked).</summary>
    private sealed class ChunkedContent(byte[] bytes, string mediaType) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            for (var offset = 0; offset < bytes.Length; offset += 64 * 1024)
            {
                await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(64 * 1024, bytes.Length - offset)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        public ChunkedContent Typed()
        {
            Headers.ContentType = new(mediaType);
            return this;
        }
    }

    private static byte[] CreateBody(int valueBytes) =>
        Encoding.UTF8.GetBytes($$"""{"name":"big","big_value":"{{new string('x', valueBytes)}}"}""");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Defect1_a_body_over_the_cap_is_413_whatever_its_framing(bool chunked)
    {
        var body = CreateBody(20 << 20);
        var head = $"POST /v2/images HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Project-Id: p1\r\nX-Roles: member\r\n" +
            $"Content-Type: application/json\r\n{(chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {body.Length}")}\r\n\r\n";
        var request = new MemoryStream();
        request.Write(Encoding.ASCII.GetBytes(head));
        for (var offset = 0; offset < body.Length; offset += 64 * 1024)
        {
            var count = Math.Min(64 * 1024, body.Length - offset);
            request.Write(chunked ? Encoding.ASCII.GetBytes($"{count:x}\r\n") : []);
            request.Write(body, offset, count);
            request.Write(chunked ? "\r\n"u8 : []);
        }
        request.Write(chunked ? "0\r\n\r\n"u8 : []);
        // The server answers and closes without reading the rest: the client's writes may then fail.
        var (status, responseHead, responseBody) = await RawAsync(request.ToArray());
        Assert.Equal(413, status);
        Assert.Contains("application/json", responseHead);
        Assert.Contains("The request body is too large.", responseBody);
        Assert.Matches("(?im)^x-openstack-request-id: req-", responseHead);
        // The same framing under the cap still works.
        Expect.Status(await _api.SendAsync(HttpMethod.Post, "/v2/images", Persona.P1, new ChunkedContent(CreateBody(1000), "application/json").Typed()), 201);
    }

    [Fact]
    public async Task Defect1_a_property_value_holds_65535_bytes_and_no_more()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { name = "caps" }), "id");
        // Two-byte characters: the cap counts UTF-8 bytes, as Glance's TEXT column does.
        var fits = new string('é', 65_535 / 2) + "x";
        Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, GlanceClient.Json(new[] { new { op = "add", path = "/fits", value = fits } })), 200);
        var over = Expect.Error(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, GlanceClient.Json(new[] { new { op = "add", path = "/over", value = fits + "x" } })), 400);
        Assert.Contains("65535 bytes", Expect.Str(over.Json, "message"));
        Expect.Error(await _api.PutJsonAsync($"/v2/images/{id}/properties/typed", Persona.P1, GlanceClient.Json(new { value = new[] { new string('y', 70_000) } })), 400);
        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, GlanceClient.Json(new Dictionary<string, string> { ["big"] = new string('z', 65_536) })), 400);
        Assert.Equal(fits, Expect.Str(await _api.ShowImageAsync(id, Persona.P1), "fits"));
    }

    [Fact]
    public async Task Defect1_an_images_metadata_is_capped_in_total_and_a_refused_write_changes_nothing()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { name = "total" }), "id");
        var value = new string('v', 60_000);
        Expect.Status(await _api.PutJsonAsync($"/v2/images/{id}/properties/a", Persona.P1, GlanceClient.Json(new { value })), 201);
        Expect.Status(await _api.PutJsonAsync($"/v2/images/{id}/properties/b", Persona.P1, GlanceClient.Json(new { value })), 201);
        // 3 x 60,000 bytes is over the 128 KiB default, by PUT and by PATCH alike.
        var refused = Expect.Error(await _api.PutJsonAsync($"/v2/images/{id}/properties/c", Persona.P1, GlanceClient.Json(new { value })), 413);
        Assert.Contains("Image metadata is too large", Expect.Str(refused.Json, "message"));
        Expect.Error(await _api.PatchAsync($"/v2/images/{id}", Persona.P1,
            GlanceClient.Json(new object[] { new { op = "replace", path = "/name", value = "renamed" }, new { op = "add", path = "/c", value } })), 413);
        var image = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("total", Expect.Str(image, "name"));
        Assert.False(image.TryGetProperty("c", out _));
        var names = Expect.Status(await _api.GetAsync($"/v2/images/{id}/properties", Persona.P1), 200).Json
            .GetProperty("properties").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Equal(["a", "b"], names);
    }

    public static TheoryData<string> InvalidText => new()
    {
        "{\"name\":\"\xC3\x28\"}",
        "{\"name\":\"\\ud800\"}",
        "{\"\\udfff\":\"x\"}",
        "[{\"op\":\"add\",\"path\":\"/k\",\"value\":\"\\ud800x\"}]",
    };

    [Theory]
    [MemberData(nameof(InvalidText))]
    public async Task Defect3_invalid_text_inside_a_json_string_is_400_on_every_json_route(string latin1Body)
    {
        // Sent as the bytes written (Latin-1 maps each char to one byte), so "\xC3\x28" stays invalid UTF-8.
        var bytes = Encoding.Latin1.GetBytes(latin1Body);
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { name = "text" }), "id");
        var routes = new (HttpMethod Method, string Path, string MediaType)[]
        {
            (HttpMethod.Post, "/v2/images", "application/json"),
            (HttpMethod.Patch, $"/v2/images/{id}", GlanceClient.PatchV21),
            (HttpMethod.Put, $"/v2/images/{id}/properties/k", "application/json"),
            (HttpMethod.Post, $"/v2/images/{id}/members", "application/json"),
            (HttpMethod.Post, $"/v2/images/{id}/import", "application/json"),
        };
        foreach (var (method, path, mediaType) in routes)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new(mediaType);
            var response = Expect.Error(await _api.SendAsync(method, path, Persona.P1, content), 400);
            Assert.Equal("Malformed JSON in request body.", Expect.Str(response.Json, "message"));
        }
    }

    /// <summary>Sends raw request bytes over TCP (for headers HttpClient will not send) and returns the status line and headers.</summary>
    private async Task<(int Status, string Head, string Body)> RawAsync(byte[] request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(fixture.Factory.BaseAddress.Host, fixture.Factory.BaseAddress.Port);
        var stream = tcp.GetStream();
        var sending = Task.Run(async () =>
        {
            try
            {
                await stream.WriteAsync(request);
            }
            catch (IOException)
            {
                // The server answered before reading everything and closed: expected for refused bodies.
            }
        });
        using var reader = new MemoryStream();
        try
        {
            await stream.CopyToAsync(reader).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (IOException) when (reader.Length > 0)
        {
            // Reset after the answer arrived.
        }
        await sending.WaitAsync(TimeSpan.FromSeconds(10));
        var text = Encoding.UTF8.GetString(reader.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, $"no HTTP answer: '{text}'");
        return (int.Parse(text[9..12], System.Globalization.CultureInfo.InvariantCulture), text[..split], text[(split + 4)..]);
    }

    [Fact]
    public async Task Defect4_a_non_ascii_request_id_is_replaced_by_a_generated_one()
    {
        var head = Encoding.UTF8.GetBytes("GET /v2/images?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Project-Id: p1\r\nX-Roles: member\r\nx-openstack-request-id: ");
        var request = head.Concat(Encoding.UTF8.GetBytes("req-é☃")).Concat(Encoding.ASCII.GetBytes("\r\n\r\n")).ToArray();
        var (status, responseHead, _) = await RawAsync(request);
        Assert.Equal(200, status);
        Assert.Matches("(?im)^x-openstack-request-id: req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\r?$", responseHead);

        // A control character too (Kestrel passes a tab through inside a value).
        var tab = await _api.SendAsync(HttpMethod.Get, "/v2/images?limit=1", Persona.P1, headers: new Dictionary<string, string> { ["x-openstack-request-id"] = "a\tb" });
        Expect.Status(tab, 200);
        Expect.RequestId(tab);
        // A printable id is still honoured.
        var kept = await _api.SendAsync(HttpMethod.Get, "/v2/images?limit=1", Persona.P1, headers: new Dictionary<string, string> { ["x-openstack-request-id"] = "req-mine" });
        Assert.Equal("req-mine", kept.Header("x-openstack-request-id"));
    }

    [Theory]
    [InlineData("X-Project-Id")]
    [InlineData("X-Roles")]
    [InlineData("X-User-Id")]
    [InlineData("X-Tenant-Id")]
    [InlineData("X-Identity-Status")]
    public async Task Defect5_an_identity_header_that_is_present_but_empty_is_401_never_the_default_admin(string header)
    {
        var secret = Expect.Str(await _api.CreateImageAsync(Persona.P2, new { name = "secret", visibility = "private" }), "id");
        // Only empty headers, as a proxy forwards them for a request it did not authenticate.
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/images/{secret}");
        request.Headers.TryAddWithoutValidation(header, "");
        using var response = await _api.Http.SendAsync(request);
        var answer = new ApiResponse(response, await response.Content.ReadAsStringAsync());
        Expect.Error(answer, 401);
        // Beside real headers too.
        var mixed = await _api.SendAsync(HttpMethod.Get, $"/v2/images/{secret}", null, headers: new Dictionary<string, string>
        {
            ["X-Project-Id"] = "", ["X-Roles"] = "", ["X-User-Id"] = "someone",
        });
        Expect.Error(mixed, 401);
    }

    [Fact]
    public async Task Defect5_a_caller_without_a_project_cannot_create_images()
    {
        var response = await _api.SendAsync(HttpMethod.Post, "/v2/images", null, GlanceClient.Body("{}", "application/json"),
            new Dictionary<string, string> { ["X-Roles"] = "admin", ["X-User-Id"] = "projectless", ["X-Identity-Status"] = "Confirmed" });
        Expect.Error(response, 403);
    }

    [Fact]
    public async Task Defect7_a_tag_or_property_name_with_a_slash_round_trips_through_its_encoded_path()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { name = "slashes", tags = new[] { "a/b" } }), "id");
        // A tag set in a body is deleted through its encoded path ...
        Expect.Status(await _api.DeleteAsync($"/v2/images/{id}/tags/a%2Fb", Persona.P1), 204);
        Assert.Empty(Expect.Tags(await _api.ShowImageAsync(id, Persona.P1)));
        // ... and one added through the path is the decoded name, once: %252F is a literal "%2F".
        Expect.Status(await _api.PutAsync($"/v2/images/{id}/tags/c%2Fd", Persona.P1), 204);
        Expect.Status(await _api.PutAsync($"/v2/images/{id}/tags/e%252Ff", Persona.P1), 204);
        Assert.Equal(["c/d", "e%2Ff"], Expect.Tags(await _api.ShowImageAsync(id, Persona.P1)));

        Expect.Status(await _api.PutJsonAsync($"/v2/images/{id}/properties/x%2Fy", Persona.P1, """{"value":"1"}"""), 201);
        Assert.Equal("1", Expect.Str(await _api.ShowImageAsync(id, Persona.P1), "x/y"));
        Assert.Equal("x/y", Expect.Str(Expect.Status(await _api.GetAsync($"/v2/images/{id}/properties/x%2Fy", Persona.P1), 200).Json, "name"));
        Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"add","path":"/p~1q","value":"2"}]"""), 200);
        Expect.Status(await _api.DeleteAsync($"/v2/images/{id}/properties/p%2Fq", Persona.P1), 204);
        Expect.Status(await _api.DeleteAsync($"/v2/images/{id}/properties/x%2Fy", Persona.P1), 204);
        var image = await _api.ShowImageAsync(id, Persona.P1);
        Assert.False(image.TryGetProperty("x/y", out _));
        Assert.False(image.TryGetProperty("p/q", out _));
    }

    [Fact]
    public async Task Defect1_a_list_page_of_images_with_the_most_metadata_streams_and_stays_whole()
    {
        var suite = GlanceClient.Unique("heavy");
        var value = new string('m', 60_000);
        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(Expect.Str(await _api.CreateImageAsync(Persona.P1, new Dictionary<string, string> { ["suite"] = suite, ["a"] = value, ["b"] = value }), "id"));
        }
        var small = Expect.Status(await _api.GetAsync($"/v2/images?suite={suite}&limit=1", Persona.P1), 200);
        Assert.NotNull(small.Header("Content-Length")); // a small page keeps its length

        var page = Expect.Status(await _api.GetAsync($"/v2/images?suite={suite}&limit=6", Persona.P1), 200);
        Assert.Null(page.Header("Content-Length")); // 720 KB: streamed, not held whole
        Assert.Equal(ids.Order(), GlanceClient.Ids(page.Json).Order());
        Assert.All(page.Json.GetProperty("images").EnumerateArray(), image => Assert.Equal(value, Expect.Str(image, "b")));
        Assert.StartsWith("/v2/images?", Expect.Str(page.Json, "next"));
    }
}
