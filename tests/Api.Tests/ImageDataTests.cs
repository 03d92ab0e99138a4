using System.Globalization;
using System.Net.Http.Headers;
using Glance.Api.Tests.Support;
using static Glance.Api.Tests.Support.ImageBytes;

namespace Glance.Api.Tests;

/// <summary>
/// The image data plane through real HTTP (spec section 6): <c>PUT /file</c> streams, hashes
/// and stores the bytes; <c>GET</c>/<c>HEAD /file</c> serve them with ranges and conditional
/// requests; the files on disk follow the image (one after an upload, none after a delete or
/// a failed upload).
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ImageDataTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    private string[] Files(string id) => FilesOf(fixture.DataDirectory, id);

    private static Dictionary<string, string> Headers(params (string Name, string Value)[] headers) =>
        headers.ToDictionary(h => h.Name, h => h.Value);

    [Fact]
    public async Task Upload_makes_the_image_active_with_its_hashes_and_download_returns_the_same_bytes()
    {
        var data = Bytes(3 * 1024 * 1024 + 17, seed: 3);
        var id = await _api.CreateUploadableAsync(Persona.P1);
        var before = await _api.DownloadAsync(id, Persona.P1);
        Assert.Equal(204, before.Code); // no data yet
        Assert.Empty(before.Bytes);
        Assert.Equal(204, (await _api.DownloadAsync(id, Persona.P1, method: HttpMethod.Head)).Code);

        var upload = await _api.UploadAsync(id, Persona.P1, Octets(data));
        Expect.Status(upload, 204);
        Assert.Equal("", upload.Text);
        Expect.RequestId(upload);

        var image = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("active", Expect.Str(image, "status"));
        Assert.Equal(data.Length, image.GetProperty("size").GetInt64());
        Assert.Equal(data.Length, image.GetProperty("virtual_size").GetInt64()); // raw: the data is the disk
        Assert.Equal(Md5(data), Expect.Str(image, "checksum"));
        Assert.Equal("sha512", Expect.Str(image, "os_hash_algo"));
        Assert.Equal(Sha512(data), Expect.Str(image, "os_hash_value"));

        // Exactly one file on disk, complete, nothing partial.
        var file = Assert.Single(Files(id));
        Assert.DoesNotContain(".partial", file);
        Assert.Equal(data, await File.ReadAllBytesAsync(file));

        var download = await _api.DownloadAsync(id, Persona.P1);
        Assert.Equal(200, download.Code);
        Assert.Equal(data, download.Bytes);
        Assert.Equal(OctetStream, download.Response.MediaType);
        Assert.Equal(data.Length.ToString(CultureInfo.InvariantCulture), download.Header("Content-Length"));
        Assert.Equal(Md5(data), download.Header("Content-MD5")); // hex, as Glance sends it
        Assert.Equal("bytes", download.Header("Accept-Ranges"));
        var etag = download.Response.Message.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);
        Assert.Equal($"\"{Md5(data)}\"", etag.Tag);
        var lastModified = download.Response.Message.Content.Headers.LastModified;
        Assert.NotNull(lastModified);
        Assert.InRange(lastModified.Value, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        var cacheControl = download.Response.Message.Headers.CacheControl;
        Assert.NotNull(cacheControl);
        Assert.True(cacheControl.Private, $"a shared image is not for shared caches: {cacheControl}");
        Assert.False(cacheControl.Public);
        Assert.True(cacheControl.MaxAge > TimeSpan.Zero);
        Expect.RequestId(download.Response);

        // HEAD: the same headers, no body.
        var head = await _api.DownloadAsync(id, Persona.P1, method: HttpMethod.Head);
        Assert.Equal(200, head.Code);
        Assert.Empty(head.Bytes);
        Assert.Equal(data.Length.ToString(CultureInfo.InvariantCulture), head.Header("Content-Length"));
        Assert.Equal(Md5(data), head.Header("Content-MD5"));
        Assert.Equal(etag, head.Response.Message.Headers.ETag);
        Assert.Equal("bytes", head.Header("Accept-Ranges"));
        Assert.Equal(lastModified, head.Response.Message.Content.Headers.LastModified);

        // Active: a second upload is a conflict and changes nothing.
        Expect.Error(await _api.UploadAsync(id, Persona.P1, Octets([1, 2, 3])), 409);
        Assert.Equal(Md5(data), Expect.Str(await _api.ShowImageAsync(id, Persona.P1), "checksum"));
        Assert.Equal(data, await File.ReadAllBytesAsync(Assert.Single(Files(id))));

        // Deleting the image deletes its bytes.
        Expect.Status(await _api.DeleteAsync($"/v2/images/{id}", Persona.P1), 204);
        Assert.Empty(Files(id));
        Expect.Error((await _api.DownloadAsync(id, Persona.P1)).Response, 404);
        Expect.Error((await _api.DownloadAsync(id, Persona.Admin)).Response, 404);
    }

    [Fact]
    public async Task Chunked_uploads_work_and_the_declared_size_must_match()
    {
        var data = Bytes(1024 * 1024 + 5, seed: 4);
        // ami: a format no inspector reads, so arbitrary bytes are its data.
        var id = await _api.CreateUploadableAsync(Persona.P1, new() { ["disk_format"] = "ami", ["container_format"] = "ami" });
        var content = Chunked(data);
        Assert.Null(content.Headers.ContentLength); // no length: HttpClient sends it chunked
        Expect.Status(await _api.UploadAsync(id, Persona.P1, content), 204);
        var image = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("active", Expect.Str(image, "status"));
        Assert.Equal(data.Length, image.GetProperty("size").GetInt64());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, image.GetProperty("virtual_size").ValueKind); // not raw: unknown
        Assert.Equal(Md5(data), Expect.Str(image, "checksum"));
        Assert.Equal(Sha512(data), Expect.Str(image, "os_hash_value"));
        Assert.Equal(data, (await _api.DownloadAsync(id, Persona.P1)).Bytes);
        Assert.Single(Files(id));

        // x-openstack-image-size that matches the bytes (chunked, so the only size known up front).
        var declared = await _api.CreateUploadableAsync(Persona.P1);
        Expect.Status(await _api.UploadAsync(declared, Persona.P1, Chunked(data),
            Headers(("x-openstack-image-size", data.Length.ToString(CultureInfo.InvariantCulture)))), 204);
        Assert.Equal(data.Length, (await _api.ShowImageAsync(declared, Persona.P1)).GetProperty("size").GetInt64());

        // ... that does not: 400, nothing kept, and the image can be uploaded again.
        var wrong = await _api.CreateUploadableAsync(Persona.P1);
        foreach (var size in new[] { data.Length - 1, data.Length + 1 })
        {
            Expect.Error(await _api.UploadAsync(wrong, Persona.P1, Chunked(data),
                Headers(("x-openstack-image-size", size.ToString(CultureInfo.InvariantCulture)))), 400);
            await AssertQueuedWithoutDataAsync(wrong);
        }
        Expect.Error(await _api.UploadAsync(wrong, Persona.P1, Octets(data),
            Headers(("x-openstack-image-size", (data.Length - 1).ToString(CultureInfo.InvariantCulture)))), 400);
        await AssertQueuedWithoutDataAsync(wrong);

        // ... or that is not a size at all: 400 before anything happens.
        foreach (var bad in new[] { "abc", "-1", "1.5", "" })
        {
            Expect.Error(await _api.UploadAsync(wrong, Persona.P1, Octets(data), Headers(("x-openstack-image-size", bad))), 400);
            await AssertQueuedWithoutDataAsync(wrong);
        }
        await _api.UploadOkAsync(wrong, Persona.P1, data);
        Assert.Equal("active", await _api.StatusAsync(wrong, Persona.P1));
    }

    [Fact]
    public async Task Uploads_beyond_Kestrels_default_30_MB_body_limit_work()
    {
        var data = Bytes(31 * 1024 * 1024, seed: 12);
        var sized = await _api.CreateUploadableAsync(Persona.P1);
        var chunked = await _api.CreateUploadableAsync(Persona.P1);
        Expect.Status(await _api.UploadAsync(sized, Persona.P1, Octets(data)), 204);
        Expect.Status(await _api.UploadAsync(chunked, Persona.P1, Chunked(data, piece: 1024 * 1024)), 204);
        foreach (var id in new[] { sized, chunked })
        {
            var image = await _api.ShowImageAsync(id, Persona.P1);
            Assert.Equal(data.Length, image.GetProperty("size").GetInt64());
            Assert.Equal(Sha512(data), Expect.Str(image, "os_hash_value"));
            Assert.Equal(Md5(data), Md5((await _api.DownloadAsync(id, Persona.P1)).Bytes));
            Expect.Status(await _api.DeleteAsync($"/v2/images/{id}", Persona.P1), 204);
            Assert.Empty(Files(id));
        }
    }

    [Fact]
    public async Task A_zero_byte_upload_makes_an_active_empty_image()
    {
        foreach (var content in new Func<HttpContent>[] { () => Octets([]), () => Chunked([]) })
        {
            var id = await _api.CreateUploadableAsync(Persona.P1);
            Expect.Status(await _api.UploadAsync(id, Persona.P1, content()), 204);
            var image = await _api.ShowImageAsync(id, Persona.P1);
            Assert.Equal("active", Expect.Str(image, "status"));
            Assert.Equal(0, image.GetProperty("size").GetInt64());
            Assert.Equal(EmptyMd5, Expect.Str(image, "checksum"));
            Assert.Equal(EmptyMd5, Md5([]));
            Assert.Equal(Sha512([]), Expect.Str(image, "os_hash_value"));
            // As Glance: the format inspector reports no virtual size for no data.
            Assert.Equal(System.Text.Json.JsonValueKind.Null, image.GetProperty("virtual_size").ValueKind);

            var download = await _api.DownloadAsync(id, Persona.P1);
            Assert.Equal(200, download.Code);
            Assert.Empty(download.Bytes);
            Assert.Equal("0", download.Header("Content-Length"));
            Assert.Equal(EmptyMd5, download.Header("Content-MD5"));
            Assert.Equal(0, new FileInfo(Assert.Single(Files(id))).Length);
        }
    }

    [Fact]
    public async Task Uploads_are_refused_with_the_wrong_media_type_without_formats_or_outside_queued()
    {
        var data = Bytes(1000);
        var id = await _api.CreateUploadableAsync(Persona.P1);
        foreach (var type in new[] { "application/json", "text/plain", "application/x-www-form-urlencoded" })
        {
            Expect.Error(await _api.UploadAsync(id, Persona.P1, Octets(data, type)), 415);
        }
        Expect.Error(await _api.UploadAsync(id, Persona.P1, Octets(data, mediaType: null)), 415);
        await AssertQueuedWithoutDataAsync(id);
        // Parameters on the media type are fine.
        Expect.Status(await _api.UploadAsync(id, Persona.P1, Octets(data, "application/octet-stream; charset=binary")), 204);

        // disk_format and container_format must both be set first.
        var noFormats = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { name = "no formats" }), "id");
        var diskOnly = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { disk_format = "raw" }), "id");
        var containerOnly = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { container_format = "bare" }), "id");
        foreach (var image in new[] { noFormats, diskOnly, containerOnly })
        {
            var refused = Expect.Error(await _api.UploadAsync(image, Persona.P1, Octets(data)), 400);
            Assert.Contains("must be set prior to saving data", refused.Json.GetProperty("message").GetString());
            await AssertQueuedWithoutDataAsync(image);
        }

        // Only a queued image takes data: active and deactivated are conflicts.
        var upload = await _api.UploadAsync(id, Persona.P1, Octets(data));
        Assert.Contains("active", Expect.Error(upload, 409).Json.GetProperty("message").GetString());
        Expect.Status(await _api.SendAsync(HttpMethod.Post, $"/v2/images/{id}/actions/deactivate", Persona.P1), 204);
        Expect.Error(await _api.UploadAsync(id, Persona.P1, Octets(data)), 409);
        Assert.Equal("deactivated", await _api.StatusAsync(id, Persona.P1));
        Assert.Single(Files(id));
    }

    [Fact]
    public async Task Only_the_owner_or_an_admin_uploads_and_an_invisible_image_is_not_found()
    {
        var data = Bytes(2000, seed: 5);
        // Community: p2 sees it but does not own it.
        var visible = await _api.CreateUploadableAsync(Persona.P1, new() { ["visibility"] = "community" });
        Expect.Error(await _api.UploadAsync(visible, Persona.P2, Octets(data)), 403);
        await AssertQueuedWithoutDataAsync(visible);
        var hidden = await _api.CreateUploadableAsync(Persona.P1, new() { ["visibility"] = "private" });
        Expect.Error(await _api.UploadAsync(hidden, Persona.P2, Octets(data)), 404);
        Expect.Error((await _api.DownloadAsync(hidden, Persona.P2)).Response, 404);
        Expect.Error(await _api.UploadAsync(Guid.NewGuid().ToString(), Persona.P1, Octets(data)), 404);
        Expect.Error((await _api.DownloadAsync(Guid.NewGuid().ToString(), Persona.P1)).Response, 404);
        await AssertQueuedWithoutDataAsync(hidden);

        // An admin may upload to anyone's image.
        Expect.Status(await _api.UploadAsync(hidden, Persona.Admin, Octets(data)), 204);
        Assert.Equal(data, (await _api.DownloadAsync(hidden, Persona.P1)).Bytes);
        Expect.Status(await _api.UploadAsync(visible, Persona.P1, Octets(data)), 204);
        Assert.Equal(data, (await _api.DownloadAsync(visible, Persona.P2)).Bytes);
    }

    [Fact]
    public async Task A_deactivated_image_is_downloadable_by_admins_only()
    {
        var data = Bytes(4096, seed: 6);
        var id = await _api.CreateUploadableAsync(Persona.P1, new() { ["visibility"] = "community" });
        await _api.UploadOkAsync(id, Persona.P1, data);
        Expect.Status(await _api.SendAsync(HttpMethod.Post, $"/v2/images/{id}/actions/deactivate", Persona.P1), 204);

        foreach (var member in new[] { Persona.P1, Persona.P2 })
        {
            Expect.Error((await _api.DownloadAsync(id, member)).Response, 403);
            Assert.Equal(403, (await _api.DownloadAsync(id, member, method: HttpMethod.Head)).Code);
            Expect.Error((await _api.DownloadAsync(id, member, Headers(("Range", "bytes=0-9")))).Response, 403);
        }
        var admin = await _api.DownloadAsync(id, Persona.Admin);
        Assert.Equal(200, admin.Code);
        Assert.Equal(data, admin.Bytes);
        Assert.Equal(206, (await _api.DownloadAsync(id, Persona.Admin, Headers(("Range", "bytes=0-9")))).Code);

        Expect.Status(await _api.SendAsync(HttpMethod.Post, $"/v2/images/{id}/actions/reactivate", Persona.P1), 204);
        Assert.Equal(data, (await _api.DownloadAsync(id, Persona.P2)).Bytes);
    }

    [Fact]
    public async Task Ranges_give_206_with_an_inclusive_Content_Range_and_bad_ones_400_or_416()
    {
        var data = Bytes(1000, seed: 7);
        var id = await _api.CreateUploadableAsync(Persona.P1);
        await _api.UploadOkAsync(id, Persona.P1, data);

        foreach (var (range, start, end) in new[]
        {
            ("bytes=0-4", 0, 4), ("bytes=10-19", 10, 19), ("bytes=990-", 990, 999), ("bytes=-10", 990, 999),
            ("bytes=995-5000", 995, 999), ("bytes=-5000", 0, 999), ("bytes=999-999", 999, 999), ("bytes=0-", 0, 999),
        })
        {
            var partial = await _api.DownloadAsync(id, Persona.P1, Headers(("Range", range)));
            Assert.True(partial.Code == 206, $"{range}: {partial.Response}");
            Assert.Equal($"bytes {start}-{end}/1000", partial.Header("Content-Range"));
            Assert.Equal((end - start + 1).ToString(CultureInfo.InvariantCulture), partial.Header("Content-Length"));
            Assert.Equal(data[start..(end + 1)], partial.Bytes);
            Assert.Equal(Md5(data), partial.Header("Content-MD5")); // the whole image's md5, even on a part
            Assert.Equal(OctetStream, partial.Response.MediaType);
        }

        // HEAD with a range: the part's headers, no body.
        var head = await _api.DownloadAsync(id, Persona.P1, Headers(("Range", "bytes=0-99")), HttpMethod.Head);
        Assert.Equal(206, head.Code);
        Assert.Equal("bytes 0-99/1000", head.Header("Content-Range"));
        Assert.Equal("100", head.Header("Content-Length"));
        Assert.Empty(head.Bytes);

        // The legacy request header Content-Range is honoured.
        var legacyBody = new ByteArrayContent([]);
        legacyBody.Headers.ContentRange = ContentRangeHeaderValue.Parse("bytes 0-9/*");
        var legacy = await _api.DownloadAsync(id, Persona.P1, content: legacyBody);
        Assert.Equal(206, legacy.Code);
        Assert.Equal("bytes 0-9/1000", legacy.Header("Content-Range"));
        Assert.Equal(data[..10], legacy.Bytes);

        // Several ranges: 400.
        Expect.Error((await _api.DownloadAsync(id, Persona.P1, Headers(("Range", "bytes=0-9,20-29")))).Response, 400);

        // Unsatisfiable or malformed: 416, with the size in Content-Range.
        foreach (var range in new[] { "bytes=1000-", "bytes=2000-3000", "bytes=5-2", "bytes=-0", "bytes=abc", "bytes=x-5", "items=0-5", "bytes=5" })
        {
            var refused = await _api.DownloadAsync(id, Persona.P1, Headers(("Range", range)));
            Assert.True(refused.Code == 416, $"{range}: {refused.Response}");
            Assert.Equal("bytes */1000", refused.Header("Content-Range"));
            Assert.Equal("application/json", refused.Response.MediaType);
            Assert.Equal("416 Request Range Not Satisfiable", refused.Response.Json.GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task Conditional_downloads_use_the_strong_ETag_and_Last_Modified()
    {
        var data = Bytes(5000, seed: 8);
        var id = await _api.CreateUploadableAsync(Persona.P1);
        await _api.UploadOkAsync(id, Persona.P1, data);
        var full = await _api.DownloadAsync(id, Persona.P1);
        var etag = full.Header("ETag")!;
        var lastModified = full.Header("Last-Modified")!;
        Assert.Equal($"\"{Md5(data)}\"", etag);

        // If-None-Match: 304 without a body for the current tag (or *), the bytes otherwise.
        foreach (var tags in new[] { etag, "*", $"\"nope\", {etag}", $"W/{etag}" })
        {
            var notModified = await _api.DownloadAsync(id, Persona.P1, Headers(("If-None-Match", tags)));
            Assert.True(notModified.Code == 304, $"{tags}: {notModified.Response}");
            Assert.Empty(notModified.Bytes);
            Assert.Equal(etag, notModified.Header("ETag"));
            Assert.Equal(304, (await _api.DownloadAsync(id, Persona.P1, Headers(("If-None-Match", tags)), HttpMethod.Head)).Code);
        }
        var changed = await _api.DownloadAsync(id, Persona.P1, Headers(("If-None-Match", "\"0123456789abcdef\"")));
        Assert.Equal(200, changed.Code);
        Assert.Equal(data, changed.Bytes);

        // If-Range: the range when the validator still matches, the whole image when not.
        var matching = await _api.DownloadAsync(id, Persona.P1, Headers(("Range", "bytes=100-199"), ("If-Range", etag)));
        Assert.Equal(206, matching.Code);
        Assert.Equal(data[100..200], matching.Bytes);
        var byDate = await _api.DownloadAsync(id, Persona.P1, Headers(("Range", "bytes=100-199"), ("If-Range", lastModified)));
        Assert.Equal(206, byDate.Code);
        Assert.Equal(data[100..200], byDate.Bytes);
        foreach (var validator in new[] { "\"other\"", $"W/{etag}", "Thu, 01 Jan 2015 00:00:00 GMT" })
        {
            var stale = await _api.DownloadAsync(id, Persona.P1, Headers(("Range", "bytes=100-199"), ("If-Range", validator)));
            Assert.True(stale.Code == 200, $"If-Range {validator}: {stale.Response}");
            Assert.Equal(data, stale.Bytes);
            Assert.Null(stale.Header("Content-Range"));
        }
        // A stale If-Range even ignores an unsatisfiable range: the whole image is what the client needs.
        Assert.Equal(200, (await _api.DownloadAsync(id, Persona.P1, Headers(("Range", "bytes=9000-"), ("If-Range", "\"other\"")))).Code);
    }

    [Fact]
    public async Task Public_images_may_be_cached_by_shared_caches()
    {
        var id = await _api.CreateUploadableAsync(Persona.Admin, new() { ["visibility"] = "public" });
        await _api.UploadOkAsync(id, Persona.Admin, Bytes(100));
        var download = await _api.DownloadAsync(id, Persona.P2);
        Assert.Equal(200, download.Code);
        var cacheControl = download.Response.Message.Headers.CacheControl!;
        Assert.True(cacheControl.Public, cacheControl.ToString());
        Assert.False(cacheControl.Private);
        Expect.Status(await _api.DeleteAsync($"/v2/images/{id}", Persona.Admin), 204);
        Assert.Empty(Files(id));
    }

    [Fact]
    public async Task A_second_upload_while_one_is_streaming_is_a_conflict()
    {
        var data = Bytes(2 * 1024 * 1024, seed: 9);
        var id = await _api.CreateUploadableAsync(Persona.P1);
        var gated = new GatedUpload(data, head: 256 * 1024);
        var first = _api.UploadAsync(id, Persona.P1, gated.Content);
        try
        {
            await gated.HeadSent.WaitAsync(TimeSpan.FromSeconds(20));
            await _api.WaitForStatusAsync(id, Persona.P1, "saving");

            Expect.Error(await _api.UploadAsync(id, Persona.P1, Octets(Bytes(10))), 409);
            Expect.Error(await _api.UploadAsync(id, Persona.P1, Chunked(Bytes(10))), 409);
            // No data yet while saving.
            Assert.Equal(204, (await _api.DownloadAsync(id, Persona.P1)).Code);
            Assert.Equal("saving", await _api.StatusAsync(id, Persona.P1));
        }
        finally
        {
            gated.Finish();
        }
        Expect.Status(await first, 204);
        var image = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("active", Expect.Str(image, "status"));
        Assert.Equal(Md5(data), Expect.Str(image, "checksum"));
        Assert.Equal(data, (await _api.DownloadAsync(id, Persona.P1)).Bytes);
        Assert.Single(Files(id));
    }

    [Fact]
    public async Task Deleting_an_image_during_its_upload_ends_the_upload_with_410_and_no_bytes()
    {
        var data = Bytes(1024 * 1024, seed: 10);
        var id = await _api.CreateUploadableAsync(Persona.P1);
        var gated = new GatedUpload(data, head: 128 * 1024);
        var upload = _api.UploadAsync(id, Persona.P1, gated.Content);
        try
        {
            await gated.HeadSent.WaitAsync(TimeSpan.FromSeconds(20));
            await _api.WaitForStatusAsync(id, Persona.P1, "saving");
            Expect.Status(await _api.DeleteAsync($"/v2/images/{id}", Persona.P1), 204);
        }
        finally
        {
            gated.Finish();
        }
        Expect.Status(await upload, 410);
        Assert.Empty(Files(id));
        Expect.Error(await _api.GetAsync($"/v2/images/{id}", Persona.P1), 404);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_upload_leaves_a_queued_image_and_no_bytes_and_a_retry_works()
    {
        var data = Bytes(4 * 1024 * 1024, seed: 11);

        // 1. HttpClient, chunked: the body breaks off after 2 MiB.
        var id = await _api.CreateUploadableAsync(Persona.P1);
        var gated = new GatedUpload(data, head: 2 * 1024 * 1024);
        var upload = _api.UploadAsync(id, Persona.P1, gated.Content);
        await gated.HeadSent.WaitAsync(TimeSpan.FromSeconds(20));
        await _api.WaitForStatusAsync(id, Persona.P1, "saving");
        gated.Fail();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => upload);
        await AssertRolledBackAsync(id);
        await _api.UploadOkAsync(id, Persona.P1, data);
        Assert.Equal(Md5(data), Expect.Str(await _api.ShowImageAsync(id, Persona.P1), "checksum"));
        Assert.Equal(data, await File.ReadAllBytesAsync(Assert.Single(Files(id))));

        // 2. A bare socket: Content-Length 4 MiB, 1 MiB sent, then a reset.
        var raw = await _api.CreateUploadableAsync(Persona.P1);
        await using (var connection = await RawHttp.ConnectAsync(fixture.Factory.BaseAddress))
        {
            await connection.SendHeadAsync("PUT", $"/v2/images/{raw}/file", Persona.P1,
                ("Content-Type", OctetStream), ("Content-Length", data.Length.ToString(CultureInfo.InvariantCulture)));
            await connection.SendAsync(data[..(1024 * 1024)]);
            await _api.WaitForStatusAsync(raw, Persona.P1, "saving");
            connection.Abort();
        }
        await AssertRolledBackAsync(raw);
        Expect.Status(await _api.UploadAsync(raw, Persona.P1, Chunked(data)), 204);
        Assert.Equal(data, (await _api.DownloadAsync(raw, Persona.P1)).Bytes);
    }

    /// <summary>Waits for a failed upload to be undone: queued, size cleared, no file left.</summary>
    private async Task AssertRolledBackAsync(string id)
    {
        await _api.WaitForStatusAsync(id, Persona.P1, "queued");
        Assert.True(await EventuallyAsync(() => Task.FromResult(Files(id).Length == 0)), $"files left: {string.Join(", ", Files(id))}");
        await AssertQueuedWithoutDataAsync(id);
    }

    private async Task AssertQueuedWithoutDataAsync(string id)
    {
        var image = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("queued", Expect.Str(image, "status"));
        foreach (var attribute in new[] { "size", "virtual_size", "checksum", "os_hash_value" })
        {
            Assert.Equal(System.Text.Json.JsonValueKind.Null, image.GetProperty(attribute).ValueKind);
        }
        Assert.Empty(Files(id));
        Assert.Equal(204, (await _api.DownloadAsync(id, Persona.P1)).Code);
    }
}
